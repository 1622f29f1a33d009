#pragma once
// "Did you mean --ensemble?" for a mistyped option or command.
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace pconv::app {

/// The name in `names` nearest to `word` by edit distance, when it is near enough to be a typo
/// (at most a third of the word's letters, and at least two, differ); otherwise "".
std::string closest_name(const std::string& word, const std::vector<std::string>& names);

/// After a parse error: " (did you mean --ensemble?)" for the first mistyped command or option in
/// argv, or "".
std::string suggest_for(CLI::App& root, int argc, char** argv);

}  // namespace pconv::app
