#include "pconv/io/error.h"

#include <cctype>

namespace pconv {

namespace {
std::string message(const std::string& field, const std::string& value, const std::string& problem) {
  return field + (value.empty() ? "" : " " + value) + ": " + problem;
}

bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// `text` with each whole-word `from` replaced by `to`.
std::string replace_word(const std::string& text, const std::string& from, const std::string& to) {
  std::string out;
  size_t at = 0;
  for (size_t found; (found = text.find(from, at)) != std::string::npos; at = found + from.size()) {
    const bool starts = found == 0 || !is_name_char(text[found - 1]);
    const size_t end = found + from.size();
    const bool ends = end == text.size() || !is_name_char(text[end]);
    out += text.substr(at, found - at) + (starts && ends ? to : from);
  }
  return out + text.substr(at);
}
}  // namespace

OptionError::OptionError(std::string field, std::string value, std::string problem, std::vector<std::string> also)
    : Error(message(field, value, problem)),
      field_(std::move(field)),
      value_(std::move(value)),
      problem_(std::move(problem)),
      also_(std::move(also)) {}

std::string OptionError::renamed(const std::map<std::string, std::string>& names) const {
  const auto name = [&](const std::string& field) {
    const auto it = names.find(field);
    return it == names.end() ? field : it->second;
  };
  std::string problem = problem_;
  for (const auto& other : also_) problem = replace_word(problem, other, name(other));
  return message(name(field_), value_, problem);
}

}  // namespace pconv
