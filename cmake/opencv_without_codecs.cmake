# OpenCV's core, imgproc and photo modules without imgcodecs (PCONV_OPENCV_CODECS=OFF): through
# OpenCV's CMake config where it is installed, else by hand, as on a machine that was given only
# Debian's libopencv-{core,imgproc,photo} packages unpacked under CMAKE_PREFIX_PATH.
find_package(OpenCV QUIET COMPONENTS core imgproc photo OPTIONAL_COMPONENTS xphoto)
if(OpenCV_FOUND)
  return()
endif()
find_path(PCONV_OPENCV_INCLUDE opencv2/core.hpp PATH_SUFFIXES include/opencv4 opencv4 REQUIRED)
# cvconfig.h lives in the multiarch folder on Debian.
find_path(PCONV_OPENCV_CONFIG_INCLUDE opencv2/cvconfig.h
          PATH_SUFFIXES include/x86_64-linux-gnu/opencv4 x86_64-linux-gnu/opencv4 include/opencv4 opencv4)
set(OpenCV_INCLUDE_DIRS ${PCONV_OPENCV_INCLUDE})
if(PCONV_OPENCV_CONFIG_INCLUDE)
  list(APPEND OpenCV_INCLUDE_DIRS ${PCONV_OPENCV_CONFIG_INCLUDE})
endif()
set(OpenCV_LIBS)
foreach(module core imgproc photo)
  find_library(PCONV_OPENCV_${module} opencv_${module} PATH_SUFFIXES lib/x86_64-linux-gnu REQUIRED)
  list(APPEND OpenCV_LIBS ${PCONV_OPENCV_${module}})
endforeach()
set(OpenCV_xphoto_FOUND FALSE)
message(STATUS "pconv: OpenCV core, imgproc, photo by hand: ${OpenCV_LIBS}")
