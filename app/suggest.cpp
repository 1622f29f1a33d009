#include "suggest.h"

#include <algorithm>

namespace pconv::app {
namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string closest_name(const std::string& word, const std::vector<std::string>& names) {
  const size_t allowed = std::max<size_t>(2, word.size() / 3);
  std::string best;
  size_t best_distance = allowed + 1;
  for (const std::string& name : names) {
    const size_t d = edit_distance(word, name);
    if (d < best_distance) {
      best = name;
      best_distance = d;
    }
  }
  return best;
}

std::string suggest_for(CLI::App& root, int argc, char** argv) {
  CLI::App* command = nullptr;
  int first = 1;
  for (; first < argc && !command; ++first)
    for (CLI::App* sub : root.get_subcommands({}))
      if (sub->get_name() == argv[first]) command = sub;
  if (!command) {
    if (argc < 2 || argv[1][0] == '-') return "";
    std::vector<std::string> names;
    for (CLI::App* sub : root.get_subcommands({})) names.push_back(sub->get_name());
    const std::string near = closest_name(argv[1], names);
    return near.empty() ? "" : " (did you mean 'pconv " + near + "'?)";
  }
  std::vector<std::string> options;
  for (const CLI::Option* option : command->get_options())
    for (const std::string& name : option->get_lnames()) options.push_back("--" + name);
  for (int i = first; i < argc; ++i) {
    std::string word = argv[i];
    if (word.rfind("--", 0) != 0) continue;
    word = word.substr(0, word.find('='));
    if (std::find(options.begin(), options.end(), word) != options.end()) continue;
    const std::string near = closest_name(word, options);
    if (!near.empty()) return " (did you mean " + near + " instead of " + word + "?)";
  }
  return "";
}

}  // namespace pconv::app
