#pragma once
// One way to report errors: the library throws pconv::Error with a message that names the
// file or value and the problem; executables print it on one line and exit non-zero.
#include <stdexcept>
#include <string>

namespace pconv {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace pconv
