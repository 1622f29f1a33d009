#pragma once
// One way to report errors: the library throws pconv::Error with a message that names the
// file or value and the problem; executables print it on one line and exit non-zero.
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace pconv {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A value an options struct cannot take, from its check(). The message names fields as the
/// struct spells them ("port 70000: must be 0..65535"): the library does not know the names a
/// program gives them, and a program renames them (a command line says "--port 70000: …").
class OptionError : public Error {
 public:
  /// `field`: the field at fault; `value`: its value as text ("" to leave it out); `also`: other
  /// fields that `problem` names.
  OptionError(std::string field, std::string value, std::string problem, std::vector<std::string> also = {});

  const std::string& field() const { return field_; }

  /// The message with every field it names called by its name in `names` (field -> name), where
  /// that has one.
  std::string renamed(const std::map<std::string, std::string>& names) const;

 private:
  std::string field_, value_, problem_;
  std::vector<std::string> also_;
};

/// An image larger than the pixel limit a caller set (load_image, decode_image).
class PixelLimitError : public Error {
 public:
  using Error::Error;
};

}  // namespace pconv
