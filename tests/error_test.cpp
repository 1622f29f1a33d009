#include "pconv/io/error.h"

#include <gtest/gtest.h>

namespace pconv {
namespace {

TEST(OptionError, NamesTheFieldAndIsRenamedByAProgram) {
  const OptionError e("max_upload_bytes", "", "must be at least 1 KiB");
  EXPECT_STREQ(e.what(), "max_upload_bytes: must be at least 1 KiB");
  EXPECT_EQ(e.field(), "max_upload_bytes");
  EXPECT_EQ(e.renamed({{"max_upload_bytes", "--max-upload-mb"}}), "--max-upload-mb: must be at least 1 KiB");
  EXPECT_EQ(e.renamed({}), "max_upload_bytes: must be at least 1 KiB");
  const Error& as_error = e;  // callers that only know pconv::Error still get the message
  EXPECT_STREQ(as_error.what(), "max_upload_bytes: must be at least 1 KiB");
}

TEST(OptionError, RenamesTheOtherFieldsItNamesAsWholeWords) {
  const OptionError e("image_size", "48", "must be a multiple of 2^depth = 16 (depth_limit stays)", {"depth"});
  EXPECT_STREQ(e.what(), "image_size 48: must be a multiple of 2^depth = 16 (depth_limit stays)");
  EXPECT_EQ(e.renamed({{"image_size", "--image-size"}, {"depth", "--depth"}}),
            "--image-size 48: must be a multiple of 2^--depth = 16 (depth_limit stays)");
}

}  // namespace
}  // namespace pconv
