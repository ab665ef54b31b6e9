#pragma once
// A layout over run records, rendered as Markdown, CSV, LaTeX or (figures) SVG:
// provenance on top, our rows with mean and std over seeds, the paired difference
// of each loss from the baseline, reference predictors, a sentence per loss saying
// whether its difference is within noise, and the paper's numbers in rows of their
// own, labelled as the paper's.
#include <map>
#include <string>
#include <vector>

#include "dist2/report/layouts.h"
#include "dist2/report/records.h"

namespace dist2::report {

enum class Format { Markdown, Csv, Tex, Svg, Html };

Format parse_format(const std::string& name);  // md|markdown|csv|tex|latex|svg|html
std::string format_name(Format format);
std::string file_extension(Format format);     // "md", "csv", "tex", "svg", "html"

// Where the numbers came from; printed at the top of every output.
struct ReportContext {
  std::string command;  // the command line that produced the report
  std::string profile;
  std::string commit;
  std::string date;
  std::string machine;
  // Params to hold at a given value for layouts that pin one (e.g. Table 5 at
  // {"task.n_train", "1024"}); without one, the largest value at which the most
  // rows have runs.
  std::map<std::string, std::string> pins;
  // Markdown for a terminal: a table with several column groups prints one block
  // per row, its column axis down the lines, so that it fits 100 columns.
  bool terminal = false;
};

// Table layouts render in md/csv/tex; figure layouts in svg, or md/csv/tex for the
// numbers they plot.
std::string render(const Layout& layout, const std::vector<RunRecord>& runs, Format format,
                   const ReportContext& context);

// One layout as the body of an HTML section: provenance, the figure inline (for a
// figure layout), our table and the paper's, and the notes. `render(..., Html, ...)`
// wraps it in a page of its own; `dist2 report all` puts every layout on one page.
std::string render_html_body(const Layout& layout, const std::vector<RunRecord>& runs, const ReportContext& context);

struct ReportFiles {
  std::vector<std::string> paths;  // every file written, e.g. out/figure3.svg, out/figure3.md
};

// Writes out_dir/<name>.<ext> (and out_dir/<name>.svg for a figure), each through
// a temporary file and a rename, so a reader never sees half a file.
ReportFiles write_report(const std::string& name, const std::vector<RunRecord>& runs, Format format,
                         const ReportContext& context, const std::string& out_dir);
// The same for a layout that is not one of the paper's (report/generic.h).
ReportFiles write_report(const Layout& layout, const std::vector<RunRecord>& runs, Format format,
                         const ReportContext& context, const std::string& out_dir);


}  // namespace dist2::report
