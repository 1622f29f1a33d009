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
  double CellResult::*ci;  ///< the 95% interval's half-width, where there is one
};
const Metric kMetrics[] = {
    {"ℓ1 error (% of the value range, lower is better)", Better::lower, 2, &CellResult::l1, &CellResult::l1_ci},
    {"PSNR (dB, higher is better)", Better::higher, 2, &CellResult::psnr, &CellResult::psnr_ci},
    {"SSIM (higher is better)", Better::higher, 4, &CellResult::ssim, &CellResult::ssim_ci},
    {"Texture (gradient inside the hole over the photo's; 1 is as detailed as the photo, nearer 1 is better)",
     Better::nearer_one, 2, &CellResult::texture, nullptr},
    {"Colour detail (chroma gradient inside the hole over the photo's; well above 1 is colour noise, nearer 1 is "
     "better)",
     Better::nearer_one, 2, &CellResult::colour, nullptr},
    {"Seconds per image", Better::lower, 3, &CellResult::seconds, nullptr}};

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

// The column's label with its sample count, which every method of an evaluation shares.
std::string header_label(const EvaluationReport& r, size_t category) {
  size_t n = 0;
  for (const auto& row : r.cells) n = std::max(n, row[category].count);
  return header_label(r.categories[category]) + " (n=" + std::to_string(n) + ")";
}

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

// A table cell's text; the best of its column is wrapped in `open`/`close` and followed by its
// 95% interval, so that a lead within the spread reads as one.
std::string cell_text(const EvaluationReport& r, size_t method, size_t category, const Metric& m,
                      const std::string& open, const std::string& close) {
  const CellResult& cell = r.cells[method][category];
  if (cell.count == 0 || std::isnan(cell.*m.field)) return "–";
  std::string v = fmt(cell.*m.field, m.decimals);
  if (best(r, category, m) != static_cast<int>(method) || r.methods.size() < 2) return v;
  const bool spread = m.ci && !std::isnan(cell.*m.ci);
  return open + v + close + (spread ? " ±" + fmt(cell.*m.ci, m.decimals) : "");
}

const char* kSpreadNote =
    "The best of each column is in bold, with the half-width of its 95% confidence interval over the column's n "
    "samples (Student's t): a lead smaller than that may not hold on other photos.";

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
// The page: the tables, then one row per example (masked input, each method, the truth) of
// thumbnails that open the full-size image.
std::string report_html(const EvaluationReport& r, const fs::path& out) {
  std::ostringstream html;
  html << "<!doctype html><html><head><meta charset=\"utf-8\"><title>pconv evaluation</title><style>"
          "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin-bottom:1.2em}"
          "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right;font-size:13px}"
          "td:first-child,th:first-child{text-align:left}b{color:#060}"
          ".examples td{padding:2px;text-align:center}.examples img{width:96px;height:auto;display:block}"
          ".examples th{font-weight:normal;max-width:96px;font-size:11px}</style></head><body>"
          "<h1>Inpainting quality per hole ratio</h1><p>"
       << describe(r) << ". " << kSpreadNote << "</p>";
  for (const Metric& m : kMetrics) {
    html << "<h2>" << m.title << "</h2><table><tr><th>Method</th>";
    for (size_t c = 0; c < r.categories.size(); ++c) html << "<th>" << header_label(r, c) << "</th>";
    html << "</tr>";
    for (size_t i = 0; i < r.methods.size(); ++i) {
      html << "<tr><td>" << r.methods[i] << "</td>";
      for (size_t c = 0; c < r.categories.size(); ++c)
        html << "<td>" << cell_text(r, i, c, m, "<b>", "</b>") << "</td>";
      html << "</tr>";
    }
    html << "</table>";
  }
  html << "<h2>Examples</h2><p>Click a thumbnail for the full-size image.</p><table class=\"examples\"><tr>"
          "<th>Category</th><th>masked input</th>";
  for (const auto& method : r.methods) html << "<th>" << method << "</th>";
  html << "<th>ground truth</th></tr>";
  for (size_t e = 0; e < r.examples.size(); ++e) {
    const Example& ex = r.examples[e];
    html << "<tr><th>" << ex.category << "</th>";
    auto cell = [&](const cv::Mat& img, const std::string& file) {
      save_image(out / "examples" / file, img);
      html << "<td><a href=\"examples/" << file << "\"><img src=\"examples/" << file << "\" loading=\"lazy\"></a></td>";
    };
    const std::string stem = std::to_string(e);
    cell(ex.masked, stem + "_input.png");
    for (size_t m = 0; m < ex.outputs.size(); ++m) cell(ex.outputs[m], stem + "_m" + std::to_string(m) + ".png");
    cell(ex.truth, stem + "_truth.png");
    html << "</tr>";
  }
  html << "</table></body></html>\n";
  return html.str();
}
}  // namespace

std::string report_markdown(const EvaluationReport& r) {
  std::ostringstream md;
  md << "# Inpainting quality per hole-to-image area ratio\n\n" << describe(r) << ". " << kSpreadNote << "\n";
  for (const Metric& m : kMetrics) {
    md << "\n## " << m.title << "\n\n| Method |";
    for (size_t c = 0; c < r.categories.size(); ++c) md << " " << header_label(r, c) << " |";
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
  csv << "method,bucket_lo,bucket_hi,border,count,l1_percent,psnr_db,ssim,texture_ratio,colour_ratio,seconds_per_image,"
         "l1_ci95,psnr_ci95,ssim_ci95\n";
  const auto optional_csv = [](double v, int decimals) { return std::isnan(v) ? std::string() : fmt(v, decimals); };
  const auto optional_json = [](double v) { return std::isnan(v) ? json(nullptr) : json(v); };
  json cells = json::array();
  for (size_t i = 0; i < r.methods.size(); ++i)
    for (size_t c = 0; c < r.categories.size(); ++c) {
      const CellResult& x = r.cells[i][c];
      const MaskCategory& k = r.categories[c];
      csv << '"' << r.methods[i] << "\"," << k.bucket.lo << "," << k.bucket.hi << "," << (k.border ? "yes" : "no")
          << "," << x.count << "," << fmt(x.l1, 4) << "," << fmt(x.psnr, 4) << "," << fmt(x.ssim, 5) << ","
          << optional_csv(x.texture, 4) << "," << optional_csv(x.colour, 4) << "," << fmt(x.seconds, 5) << ","
          << optional_csv(x.l1_ci, 4) << "," << optional_csv(x.psnr_ci, 4) << "," << optional_csv(x.ssim_ci, 5) << "\n";
      cells.push_back({{"method", r.methods[i]},
                       {"bucket", {k.bucket.lo, k.bucket.hi}},
                       {"border", k.border},
                       {"count", x.count},
                       {"l1_percent", x.l1},
                       {"psnr_db", x.psnr},
                       {"ssim", x.ssim},
                       {"texture_ratio", optional_json(x.texture)},
                       {"colour_ratio", optional_json(x.colour)},
                       {"seconds_per_image", x.seconds},
                       {"ci95",
                        {{"l1_percent", optional_json(x.l1_ci)},
                         {"psnr_db", optional_json(x.psnr_ci)},
                         {"ssim", optional_json(x.ssim_ci)}}}});
    }
  const std::string csv_text = csv.str();
  write_file_atomic(out / "report.csv", csv_text.data(), csv_text.size());
  const std::string json_text =
      json{{"images", r.images}, {"size", r.size}, {"methods", r.methods}, {"cells", cells}}.dump(1) + "\n";
  write_file_atomic(out / "report.json", json_text.data(), json_text.size());

  const std::string html = report_html(r, out);
  write_file_atomic(out / "report.html", html.data(), html.size());
}

}  // namespace pconv
