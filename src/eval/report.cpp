// The evaluation report: Markdown laid out like the paper's Table 1, CSV, JSON and an HTML page.
#include "pconv/eval/report.h"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "pconv/io/files.h"
#include "pconv/io/image.h"

namespace pconv {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {
enum class Better { lower, higher, nearer_one };
struct Metric {
  const char* title;
  Better better;
  int decimals;
  double CellResult::*field;
};
const Metric kMetrics[] = {
    {"ℓ1 error (% of the value range, lower is better)", Better::lower, 2, &CellResult::l1},
    {"PSNR (dB, higher is better)", Better::higher, 2, &CellResult::psnr},
    {"SSIM (higher is better)", Better::higher, 4, &CellResult::ssim},
    {"Texture (gradient inside the hole over the photo's; 1 is as detailed as the photo, nearer 1 is better)",
     Better::nearer_one, 2, &CellResult::texture},
    {"Seconds per image", Better::lower, 3, &CellResult::seconds}};

// Whether `a` beats `b` on a metric.
bool beats(double a, double b, Better better) {
  switch (better) {
    case Better::lower:
      return a < b;
    case Better::higher:
      return a > b;
    case Better::nearer_one:
      return std::abs(a - 1.0) < std::abs(b - 1.0);
  }
  return false;
}

std::string fmt(double v, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string header_label(const MaskCategory& c) { return c.bucket.name() + (c.border ? " B" : " N"); }

// Index of the best method in a category for a metric, or -1.
int best(const EvaluationReport& r, size_t category, const Metric& m) {
  int b = -1;
  for (size_t i = 0; i < r.methods.size(); ++i) {
    const CellResult& c = r.cells[i][category];
    if (c.count == 0 || std::isnan(c.*m.field)) continue;
    if (b < 0 || beats(c.*m.field, r.cells[b][category].*m.field, m.better)) b = static_cast<int>(i);
  }
  return b;
}

// A table cell's text, wrapped in `open`/`close` when it is the best of its column.
std::string cell_text(const EvaluationReport& r, size_t method, size_t category, const Metric& m,
                      const std::string& open, const std::string& close) {
  const CellResult& cell = r.cells[method][category];
  if (cell.count == 0 || std::isnan(cell.*m.field)) return "–";
  const std::string v = fmt(cell.*m.field, m.decimals);
  return best(r, category, m) == static_cast<int>(method) && r.methods.size() > 1 ? open + v + close : v;
}

std::string describe(const EvaluationReport& r) {
  size_t per = 0;
  for (const auto& row : r.cells)
    for (const auto& c : row) per = std::max(per, c.count);
  return std::to_string(r.images) + " ground-truth images, " +
         (r.size > 0 ? std::to_string(r.size) + "×" + std::to_string(r.size) + " centre crops"
                     : std::string("native size")) +
         ", up to " + std::to_string(per) +
         " masks per category; metrics on the composite (N: holes away from the "
         "border, B: holes touching it)";
}
}  // namespace

std::string report_markdown(const EvaluationReport& r) {
  std::ostringstream md;
  md << "# Inpainting quality per hole-to-image area ratio\n\n" << describe(r) << ".\n";
  for (const Metric& m : kMetrics) {
    md << "\n## " << m.title << "\n\n| Method |";
    for (const auto& c : r.categories) md << " " << header_label(c) << " |";
    md << "\n|---|";
    for (size_t i = 0; i < r.categories.size(); ++i) md << "---:|";
    md << "\n";
    for (size_t i = 0; i < r.methods.size(); ++i) {
      md << "| " << r.methods[i] << " |";
      for (size_t c = 0; c < r.categories.size(); ++c) md << " " << cell_text(r, i, c, m, "**", "**") << " |";
      md << "\n";
    }
  }
  return md.str();
}

void write_report(const EvaluationReport& r, const fs::path& out) {
  fs::create_directories(out / "examples");
  const std::string md = report_markdown(r);
  write_file_atomic(out / "report.md", md.data(), md.size());

  std::ostringstream csv;
  csv << "method,bucket_lo,bucket_hi,border,count,l1_percent,psnr_db,ssim,texture_ratio,seconds_per_image\n";
  json cells = json::array();
  for (size_t i = 0; i < r.methods.size(); ++i)
    for (size_t c = 0; c < r.categories.size(); ++c) {
      const CellResult& x = r.cells[i][c];
      const MaskCategory& k = r.categories[c];
      csv << '"' << r.methods[i] << "\"," << k.bucket.lo << "," << k.bucket.hi << "," << (k.border ? "yes" : "no")
          << "," << x.count << "," << fmt(x.l1, 4) << "," << fmt(x.psnr, 4) << "," << fmt(x.ssim, 5) << ","
          << (std::isnan(x.texture) ? "" : fmt(x.texture, 4)) << "," << fmt(x.seconds, 5) << "\n";
      cells.push_back({{"method", r.methods[i]},
                       {"bucket", {k.bucket.lo, k.bucket.hi}},
                       {"border", k.border},
                       {"count", x.count},
                       {"l1_percent", x.l1},
                       {"psnr_db", x.psnr},
                       {"ssim", x.ssim},
                       {"texture_ratio", std::isnan(x.texture) ? json(nullptr) : json(x.texture)},
                       {"seconds_per_image", x.seconds}});
    }
  const std::string csv_text = csv.str();
  write_file_atomic(out / "report.csv", csv_text.data(), csv_text.size());
  const std::string json_text =
      json{{"images", r.images}, {"size", r.size}, {"methods", r.methods}, {"cells", cells}}.dump(1) + "\n";
  write_file_atomic(out / "report.json", json_text.data(), json_text.size());

  std::ostringstream html;
  html << "<!doctype html><html><head><meta charset=\"utf-8\"><title>pconv evaluation</title><style>"
          "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1.5em}"
          "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}"
          "b{color:#060}figure{display:inline-block;margin:4px;text-align:center}img{width:192px;image-rendering:"
          "pixelated}"
          "figcaption{font-size:11px;max-width:192px}</style></head><body><h1>Inpainting quality per hole ratio</h1><p>"
       << describe(r) << ".</p>";
  for (const Metric& m : kMetrics) {
    html << "<h2>" << m.title << "</h2><table><tr><th>Method</th>";
    for (const auto& c : r.categories) html << "<th>" << header_label(c) << "</th>";
    html << "</tr>";
    for (size_t i = 0; i < r.methods.size(); ++i) {
      html << "<tr><td>" << r.methods[i] << "</td>";
      for (size_t c = 0; c < r.categories.size(); ++c)
        html << "<td>" << cell_text(r, i, c, m, "<b>", "</b>") << "</td>";
      html << "</tr>";
    }
    html << "</table>";
  }
  html << "<h2>Examples</h2>";
  std::string current;
  for (size_t e = 0; e < r.examples.size(); ++e) {
    const Example& ex = r.examples[e];
    if (ex.category != current) html << "<h3>" << (current = ex.category) << "</h3>";
    html << "<div>";
    auto figure = [&](const cv::Mat& img, const std::string& caption, const std::string& file) {
      save_image(out / "examples" / file, img);
      html << "<figure><img src=\"examples/" << file << "\"><figcaption>" << caption << "</figcaption></figure>";
    };
    const std::string stem = std::to_string(e);
    figure(ex.masked, "masked input", stem + "_input.png");
    for (size_t m = 0; m < ex.outputs.size(); ++m)
      figure(ex.outputs[m], r.methods[m], stem + "_m" + std::to_string(m) + ".png");
    figure(ex.truth, "ground truth", stem + "_truth.png");
    html << "</div>";
  }
  html << "</body></html>\n";
  const std::string html_text = html.str();
  write_file_atomic(out / "report.html", html_text.data(), html_text.size());
}

}  // namespace pconv
