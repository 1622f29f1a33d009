#pragma once
// The evaluation report: Markdown laid out like the paper's Table 1, CSV, JSON and an HTML page.
#include <filesystem>
#include <string>

#include "pconv/eval/evaluate.h"

namespace pconv {

/// report.md (Table-1 layout), report.csv, report.json and report.html with examples/ beside it.
void write_report(const EvaluationReport& report, const std::filesystem::path& out);
std::string report_markdown(const EvaluationReport& report);

}  // namespace pconv
