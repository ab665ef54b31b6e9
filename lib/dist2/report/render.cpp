#include "dist2/report/render.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "dist2/report/aggregate.h"
#include "dist2/report/html.h"
#include "dist2/report/paper_numbers.h"
#include "dist2/report/svg.h"
#include "dist2/util/csv.h"
#include "dist2/util/error.h"
#include "dist2/util/files.h"

namespace dist2::report {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---- a format-neutral grid: rows of slots under column groups ----

struct Slot {
  enum Kind { Number, Diff, PValue, Missing, Blank, Printed } kind = Blank;
  double value = kNaN;   // Number: the value; Diff: mean difference; PValue: p
  double spread = kNaN;  // Diff: std of the differences
  size_t n = 0;          // seeds (Number, Missing) or pairs (PValue)
  bool show_n = false;
  bool exact = true;     // PValue: exact enumeration, not Monte Carlo
  int decimals = 3;
  std::string printed;   // Printed: as the paper prints it
  std::string metric;    // for CSV: the metric (or paper column) this slot belongs to
  std::string stat;      // for CSV: mean, std, diff, p, value
};

struct GridRow {
  std::string section;  // ours, paired, reference, paper
  std::string label;
  std::vector<Slot> slots;
};

struct Grid {
  std::string heading;
  std::vector<std::string> intro;
  std::string group_key;                  // param or paper axis behind the column groups
  std::string group_label;                // its printed name
  std::vector<std::string> groups;        // {""} when there is one group
  std::vector<std::string> slot_headers;  // repeated under each group
  std::vector<GridRow> rows;
  std::vector<std::string> after;         // sentences and notes printed under the grid
};

struct Document {
  std::string title;
  std::vector<std::string> provenance;
  std::vector<Grid> grids;  // ours first, then the paper's
};

// ---- numbers as text ----

std::string fixed(double v, int decimals) {
  std::string s = fmt::format("{:.{}f}", v, decimals);
  if (s.find_first_not_of("-0.") == std::string::npos && s[0] == '-') s.erase(0, 1);  // no "-0.000"
  return s;
}

std::string signed_fixed(double v, int decimals) {
  std::string s = fixed(v, decimals);
  return s[0] == '-' ? s : "+" + s;
}

// p-values to three significant digits ("0.0625", "1.00").
std::string p_text(double p) { return fmt::format("{:#.3g}", p); }

std::string or_unrecorded(const std::string& s) { return s.empty() ? "(not recorded)" : s; }

// ---- building the grids ----

Slot number_slot(const Summary& s, double value, const MetricSpec& m, const std::string& stat, size_t typical_n) {
  Slot slot;
  slot.metric = m.key;
  slot.stat = stat;
  slot.n = s.n;
  if (s.n == 0) {
    slot.kind = stat == "mean" ? Slot::Missing : Slot::Blank;
    return slot;
  }
  slot.kind = Slot::Number;
  slot.value = value * m.scale;
  slot.decimals = m.decimals;
  slot.show_n = stat == "mean" && s.n != typical_n;
  return slot;
}

std::vector<Slot> summary_slots(const Summary& s, const MetricSpec& m, size_t typical_n) {
  return {number_slot(s, s.mean, m, "mean", typical_n), number_slot(s, s.std, m, "std", typical_n),
          number_slot(s, s.median, m, "median", typical_n)};
}

std::vector<Slot> paired_slots(const PairedResult& r, const MetricSpec& m) {
  Slot diff, p;
  diff.metric = p.metric = m.key;
  diff.stat = "diff";
  p.stat = "p";
  diff.n = p.n = r.n;
  if (r.n == 0) {
    diff.kind = Slot::Missing;
    return {diff, p};
  }
  diff.kind = Slot::Diff;
  diff.value = r.mean_diff * m.scale;
  diff.spread = r.std_diff * m.scale;
  diff.decimals = m.decimals;
  p.kind = Slot::PValue;
  p.value = r.p_value;
  p.exact = r.exact;
  p.show_n = true;
  return {diff, p};
}

std::vector<Slot> blank_slots(size_t count) { return std::vector<Slot>(count); }

std::string group_name(const Layout& layout, const std::string& value) {
  return layout.column_key.empty() ? "" : fmt::format("{} = {}", layout.column_label, value);
}

std::vector<std::string> our_slot_headers(const Layout& layout, const std::string& baseline) {
  std::vector<std::string> h;
  for (const MetricSpec& m : layout.metrics) {
    h.push_back(m.label + " mean");
    h.push_back(m.label + " std");
    h.push_back(m.label + " median");
    if (layout.paired == PairedDisplay::Columns && !baseline.empty()) {
      h.push_back(m.label + " diff vs " + baseline);
      h.push_back(m.label + " p");
    }
  }
  return h;
}

GridRow our_row(const Layout& layout, const TableResult& t, const RowResult& row, const std::string& section) {
  GridRow g{section, row.label, {}};
  const bool paired_columns = layout.paired == PairedDisplay::Columns && !layout.baseline.empty();
  for (size_t c = 0; c < t.columns.size(); ++c)
    for (size_t m = 0; m < layout.metrics.size(); ++m) {
      for (Slot& s : summary_slots(row.cells[c][m], layout.metrics[m], t.typical_n)) g.slots.push_back(s);
      if (!paired_columns) continue;
      if (row.paired.empty()) {
        for (Slot& s : blank_slots(2)) g.slots.push_back(s);
      } else {
        for (Slot& s : paired_slots(row.paired[c][m], layout.metrics[m])) g.slots.push_back(s);
      }
    }
  return g;
}

GridRow paired_line(const Layout& layout, const TableResult& t, const RowResult& row) {
  GridRow g{"paired", fmt::format("{} - {} (paired)", row.label, layout.baseline), {}};
  for (size_t c = 0; c < t.columns.size(); ++c)
    for (size_t m = 0; m < layout.metrics.size(); ++m) {
      // (difference, p) under (mean, std); nothing under the median
      for (Slot& s : paired_slots(row.paired[c][m], layout.metrics[m])) g.slots.push_back(s);
      g.slots.push_back(Slot{});
    }
  return g;
}

// "n_train = 64: within noise (diff +0.003, p = 0.625, n = 5)"
std::string verdict(const Layout& layout, const std::string& row, const std::string& column,
                    const MetricSpec& m, const PairedResult& r) {
  const std::string where = column.empty() ? "" : group_name(layout, column) + ": ";
  if (r.n == 0) return where + "no paired runs (n = 0)";
  const bool within = r.p_value >= kNoiseLevel;
  std::string s = fmt::format("{}{} (diff {}, p = {}, n = {}", where,
                              within ? "within noise" : "not within noise",
                              signed_fixed(r.mean_diff * m.scale, m.decimals), p_text(r.p_value), r.n);
  if (!within) {
    const bool lower = r.mean_diff < 0;
    s += fmt::format("; {} {}, i.e. {}", row, lower ? "lower" : "higher",
                     lower == m.lower_is_better ? "better" : "worse");
  }
  return s + ")";
}

std::vector<std::string> noise_sentences(const Layout& layout, const TableResult& t) {
  std::vector<std::string> out;
  if (layout.baseline.empty()) return out;
  if (std::none_of(t.rows.begin(), t.rows.end(), [](const RowResult& r) { return r.is_baseline; })) return out;
  out.push_back(fmt::format(
      "Paired differences from {} (row minus {}, over runs with the same seed{}; two-sided sign-flip "
      "test; within noise means p >= {}):",
      layout.baseline, layout.baseline, layout.column_key.empty() ? "" : " and " + layout.column_label,
      kNoiseLevel));
  size_t smallest_n = 0;
  for (const RowResult& row : t.rows) {
    if (row.paired.empty()) continue;
    for (size_t m = 0; m < layout.metrics.size(); ++m) {
      std::vector<std::string> parts;
      for (size_t c = 0; c < t.columns.size(); ++c) {
        const PairedResult& r = row.paired[c][m];
        parts.push_back(verdict(layout, row.label, t.columns[c], layout.metrics[m], r));
        if (r.n > 0 && (smallest_n == 0 || r.n < smallest_n)) smallest_n = r.n;
      }
      out.push_back(fmt::format("{} vs {}, {}: {}.", row.label, layout.baseline, layout.metrics[m].label,
                                fmt::join(parts, "; ")));
    }
  }
  if (smallest_n > 0 && smallest_attainable_p(smallest_n) >= kNoiseLevel)
    out.push_back(fmt::format("With n = {} pairs the exact two-sided sign-flip test cannot give p below {}, "
                              "so such a difference cannot be called beyond noise at {}; more seeds are needed.",
                              smallest_n, p_text(smallest_attainable_p(smallest_n)), kNoiseLevel));
  return out;
}

// Trained rows that do not beat the best reference predictor (ceilings aside) on
// a cell: there the model learned no more than a rule that needs no training, and
// a difference between losses says little. One sentence per such row.
std::vector<std::string> reference_flags(const Layout& layout, const TableResult& t) {
  std::vector<std::string> out;
  for (const RowResult& row : t.rows) {
    std::vector<std::string> cells;
    size_t compared = 0;
    for (size_t c = 0; c < t.columns.size(); ++c)
      for (size_t m = 0; m < layout.metrics.size(); ++m) {
        const MetricSpec& metric = layout.metrics[m];
        const Summary& ours = row.cells[c][m];
        std::optional<size_t> best;
        for (size_t r = 0; r < t.references.size(); ++r) {
          const Summary& ref = t.references[r].cells[c][m];
          if (layout.references[r].ceiling || ref.n == 0 || !std::isfinite(ref.mean)) continue;
          const double best_mean = best ? t.references[*best].cells[c][m].mean : 0;
          if (!best || (metric.lower_is_better ? ref.mean < best_mean : ref.mean > best_mean)) best = r;
        }
        if (!best || ours.n == 0 || !std::isfinite(ours.mean)) continue;
        ++compared;
        const double bar = t.references[*best].cells[c][m].mean;
        if (metric.lower_is_better ? ours.mean < bar : ours.mean > bar) continue;
        const std::string where = t.columns[c].empty() ? "" : group_name(layout, t.columns[c]) + ", ";
        cells.push_back(fmt::format("{}{} {} against {} {}", where, metric.label, fixed(ours.mean * metric.scale, metric.decimals),
                                    layout.references[*best].legend, fixed(bar * metric.scale, metric.decimals)));
      }
    if (cells.empty()) continue;
    out.push_back(fmt::format("{} does not beat the best reference predictor on {} of {} cells ({}): there it "
                              "learned no more than a rule that needs no training, and a comparison between "
                              "losses on those cells says little.",
                              row.label, cells.size(), compared, fmt::join(cells, "; ")));
  }
  return out;
}

// Seeds that lie far outside the others in a cell (stats.h: outlier_indices),
// named, so that a reader knows which mean to distrust and which run to inspect.
// The typical seed std of a metric over the table's cells (their median): the
// noise floor below which a seed is not called an outlier.
double typical_cell_std(const TableResult& t, size_t m) {
  std::vector<double> stds;
  for (const RowResult& row : t.rows)
    for (const auto& cell : row.cells)
      if (m < cell.size() && cell[m].n >= 2) stds.push_back(cell[m].std);
  return stds.empty() ? 0.0 : quantile(stds, 0.5);
}

std::vector<std::string> outlier_notes(const Layout& layout, const TableResult& t) {
  if (layout.setup) return {};  // its runs differ by design
  std::vector<std::string> parts;
  std::vector<double> floor;
  for (size_t m = 0; m < layout.metrics.size(); ++m) floor.push_back(typical_cell_std(t, m));
  for (const RowResult& row : t.rows)
    for (size_t c = 0; c < t.columns.size() && c < row.cells.size(); ++c)
      for (size_t m = 0; m < layout.metrics.size(); ++m) {
        const Summary& s = row.cells[c][m];
        const MetricSpec& metric = layout.metrics[m];
        for (size_t i : outlier_indices(s.values, floor[m])) {
          const std::string where = layout.column_key.empty() ? row.label : row.label + " at " + group_name(layout, t.columns[c]);
          parts.push_back(fmt::format("{}, {}: {} gave {} (median of the {} seeds {})", where, metric.label,
                                      i < s.units.size() ? s.units[i] : fmt::format("seed #{}", i + 1),
                                      fixed(s.values[i] * metric.scale, metric.decimals), s.n,
                                      fixed(s.median * metric.scale, metric.decimals)));
        }
      }
  if (parts.empty()) return {};
  return {fmt::format("Seeds far outside the others (over {:g} standard deviations from the mean of the cell's other "
                      "seeds, their std or the table's typical one, whichever is larger; the median column does not "
                      "follow them, the mean does): {}.",
                      kOutlierSds, fmt::join(parts, "; "))};
}

std::vector<std::string> diagnostic_notes(const Layout& layout, const TableResult& t) {
  std::vector<std::string> out;
  for (size_t d = 0; d < layout.diagnostics.size(); ++d) {
    std::vector<std::string> parts;
    for (const RowResult& row : t.rows) {
      const Summary& s = row.diagnostics[d];
      parts.push_back(s.n == 0 ? fmt::format("{} - (n = 0)", row.label)
                               : fmt::format("{} {} (n = {} runs)", row.label,
                                             fixed(s.mean * layout.diagnostics[d].scale, layout.diagnostics[d].decimals), s.n));
    }
    const MetricSpec& spec = layout.diagnostics[d];
    for (size_t b = 0; b < spec.bars.size() && d < t.diagnostic_bars.size(); ++b) {
      const Summary& s = t.diagnostic_bars[d][b];
      parts.push_back(s.n == 0 ? fmt::format("{} - (n = 0)", spec.bars[b].label)
                               : fmt::format("{} {} (n = {} runs)", spec.bars[b].label,
                                             fixed(s.mean * spec.bars[b].scale, spec.bars[b].decimals), s.n));
    }
    out.push_back(fmt::format("{}, mean over each row's runs: {}.", spec.label, fmt::join(parts, "; ")));
  }
  return out;
}

Grid our_grid(const Layout& layout, const TableResult& t) {
  Grid g;
  g.heading = "Ours";
  g.group_key = layout.column_key;
  g.group_label = layout.column_label;
  for (const std::string& c : t.columns) g.groups.push_back(group_name(layout, c));
  g.slot_headers = our_slot_headers(layout, layout.baseline);
  for (const RowResult& row : t.rows) {
    g.rows.push_back(our_row(layout, t, row, "ours"));
    if (layout.paired == PairedDisplay::LineBelow && !row.paired.empty()) g.rows.push_back(paired_line(layout, t, row));
  }
  for (const RowResult& ref : t.references) g.rows.push_back(our_row(layout, t, ref, "reference"));
  for (const std::string& s : reference_flags(layout, t)) g.after.push_back(s);
  for (const std::string& s : noise_sentences(layout, t)) g.after.push_back(s);
  for (const std::string& s : outlier_notes(layout, t)) g.after.push_back(s);
  for (const std::string& s : diagnostic_notes(layout, t)) g.after.push_back(s);
  for (const std::string& w : t.warnings) g.after.push_back("Warning: " + w + ".");
  for (const std::string& n : layout.notes) g.after.push_back(n);
  return g;
}

// The paper's non-numeric columns (model type, training data) go into the label:
// they tell apart rows such as Table 3's two Tulu-v2.5-RM-13B models.
std::string paper_row_label(const PaperTable& p, const PaperRow& row) {
  if (row.note.empty()) return fmt::format("paper ({}): {}", p.model, row.label);
  return fmt::format("paper ({}): {} [{}]", p.model, row.label, row.note);
}

Grid paper_grid(const PaperTable& p) {
  Grid g;
  g.heading = fmt::format("Paper ({}), as printed: {}", p.model, p.source);
  g.intro.push_back(p.caption + ".");
  if (!p.axis_label.empty())
    g.intro.push_back(fmt::format("Column axis: {} ({}), the paper's own; not our axis.", p.axis_label,
                                  fmt::join(p.axis_values, ", ")));
  g.group_key = p.axis_label;
  g.group_label = p.axis_label;
  if (p.axis_values.empty()) {
    g.groups = {""};
  } else {
    for (const std::string& v : p.axis_values) g.groups.push_back(fmt::format("{} = {}", p.axis_label, v));
  }
  g.slot_headers = p.value_labels;
  for (const PaperRow& row : p.rows) {
    GridRow r{"paper", paper_row_label(p, row), {}};
    for (size_t i = 0; i < row.values.size(); ++i) {
      Slot s;
      s.kind = Slot::Printed;
      s.printed = row.values[i];
      s.metric = p.value_labels[i % p.value_labels.size()];
      s.stat = "value";
      r.slots.push_back(s);
    }
    g.rows.push_back(std::move(r));
  }
  if (!p.note.empty()) g.after.push_back("Note: " + p.note + ".");
  return g;
}

std::vector<std::string> provenance(const Layout& layout, const TableResult& t, const ReportContext& ctx) {
  std::vector<std::string> out = {
      "command: " + or_unrecorded(ctx.command), "profile: " + or_unrecorded(ctx.profile),
      "commit: " + or_unrecorded(ctx.commit),   "date: " + or_unrecorded(ctx.date),
      "machine: " + or_unrecorded(ctx.machine),
      fmt::format("runs used: {} of {} given ({} not finished, skipped)", t.runs_used, t.runs_given,
                  t.runs_not_finished)};
  for (const auto& [key, value] : t.pinned)
    out.push_back(fmt::format("held at: {} = {} ({})", key, value.empty() ? "(none present)" : value,
                              ctx.pins.count(key) ? "as requested" : "the largest value at which the most rows have runs"));
  if (!t.temperature.empty() && !layout.setup) out.push_back("temperature: " + t.temperature);
  const char* unit = layout.setup ? "runs" : "seeds";
  out.push_back(t.typical_n == 0 ? fmt::format("cells: mean and sample std (n-1) over {}; no cell has runs", unit)
                                 : fmt::format("cells: mean, sample std (n-1) and median over {}; n = {} {} "
                                               "per cell unless marked",
                                               unit, t.typical_n, unit));
  return out;
}

Document build_document(const Layout& layout, const std::vector<RunRecord>& runs, const ReportContext& ctx,
                        TableResult* result_out = nullptr) {
  TableResult t = aggregate(layout, runs, ctx.pins);
  Document doc;
  doc.title = layout.title;
  doc.provenance = provenance(layout, t, ctx);
  doc.grids.push_back(our_grid(layout, t));
  for (const std::string& id : layout.paper) doc.grids.push_back(paper_grid(paper_table(id)));
  if (result_out) *result_out = std::move(t);
  return doc;
}

// ---- Markdown ----

std::string md_escape(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

std::string md_slot(const Slot& s) {
  switch (s.kind) {
    case Slot::Number: return fixed(s.value, s.decimals) + (s.show_n ? fmt::format(" (n={})", s.n) : "");
    case Slot::Diff: return fmt::format("{} ± {}", signed_fixed(s.value, s.decimals), fixed(s.spread, s.decimals));
    case Slot::PValue: return fmt::format("p={} (n={}{})", p_text(s.value), s.n, s.exact ? "" : ", MC");
    case Slot::Missing: return fmt::format("– (n={})", s.n);
    case Slot::Printed: return s.printed;
    case Slot::Blank: return "";
  }
  return "";
}

// "n_train = 64" -> "64": the axis is named once, in the block's header.
std::string group_value(const std::string& group) {
  const auto eq = group.find(" = ");
  return eq == std::string::npos ? group : group.substr(eq + 3);
}

// One small table per row: the column groups down the lines, the slots across
// (a terminal's view of a table whose groups side by side run to 40 columns).
std::string markdown_rows_down(const Grid& g) {
  std::string out;
  const size_t k = g.slot_headers.size();
  for (const GridRow& r : g.rows) {
    out += "\n**" + md_escape(r.label) + "**\n\n| " + md_escape(g.group_label) + " |";
    for (const std::string& h : g.slot_headers) out += " " + md_escape(h) + " |";
    out += "\n|---|";
    for (size_t i = 0; i < k; ++i) out += "---:|";
    out += "\n";
    for (size_t gi = 0; gi < g.groups.size(); ++gi) {
      out += "| " + md_escape(group_value(g.groups[gi])) + " |";
      for (size_t j = 0; j < k && gi * k + j < r.slots.size(); ++j) out += " " + md_escape(md_slot(r.slots[gi * k + j])) + " |";
      out += "\n";
    }
  }
  return out;
}

std::string render_markdown(const Document& doc, bool terminal) {
  std::string out = "# " + doc.title + "\n\n";
  for (const std::string& p : doc.provenance) out += "- " + md_escape(p) + "\n";
  for (const Grid& g : doc.grids) {
    out += "\n## " + g.heading + "\n\n";
    for (const std::string& l : g.intro) out += md_escape(l) + "\n";
    if (terminal && g.groups.size() > 1) {
      out += markdown_rows_down(g);
      if (!g.after.empty()) out += "\n";
      for (const std::string& l : g.after) out += "- " + md_escape(l) + "\n";
      continue;
    }
    if (!g.intro.empty()) out += "\n";
    out += "| |";
    for (const std::string& group : g.groups)
      for (const std::string& h : g.slot_headers) out += " " + md_escape(group.empty() ? h : group + ": " + h) + " |";
    out += "\n|---|";
    for (size_t i = 0; i < g.groups.size() * g.slot_headers.size(); ++i) out += "---:|";
    out += "\n";
    for (const GridRow& r : g.rows) {
      out += "| " + md_escape(r.label) + " |";
      for (const Slot& s : r.slots) out += " " + md_escape(md_slot(s)) + " |";
      out += "\n";
    }
    if (!g.after.empty()) out += "\n";
    for (const std::string& l : g.after) out += "- " + md_escape(l) + "\n";
  }
  return out;
}

// ---- CSV: one value per line (tidy), so every line has the same columns ----

std::string csv_line(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) out += (i ? "," : "") + csv_quote(fields[i]);
  return out + "\n";
}

std::string render_csv(const Document& doc) {
  std::string out = "# " + doc.title + "\n";
  for (const std::string& p : doc.provenance) out += "# " + p + "\n";
  out += csv_line({"section", "row", "column_key", "column_value", "metric", "stat", "value", "n"});
  for (const Grid& g : doc.grids) {
    const size_t per_group = g.slot_headers.size();
    for (const GridRow& r : g.rows)
      for (size_t i = 0; i < r.slots.size(); ++i) {
        const Slot& s = r.slots[i];
        const std::string group = g.groups.size() == 1 && g.groups[0].empty() ? "" : g.groups[i / per_group];
        const std::string value = group.empty() ? "" : group.substr(group.find(" = ") + 3);
        auto emit = [&](const std::string& stat, const std::string& v, const std::string& n) {
          out += csv_line({r.section, r.label, g.group_key, value, s.metric, stat, v, n});
        };
        const std::string n = std::to_string(s.n);
        switch (s.kind) {
          case Slot::Number: emit(s.stat, fixed(s.value, s.decimals), n); break;
          case Slot::Diff:
            emit("diff_mean", signed_fixed(s.value, s.decimals), n);
            emit("diff_std", fixed(s.spread, s.decimals), n);
            break;
          case Slot::PValue: emit(s.exact ? "p" : "p_monte_carlo", p_text(s.value), n); break;
          case Slot::Missing: emit(s.stat, "–", n); break;
          case Slot::Printed: emit(s.stat, s.printed, ""); break;
          case Slot::Blank: break;
        }
      }
  }
  for (const Grid& g : doc.grids)
    for (const std::string& l : g.after) out += "# " + l + "\n";
  return out;
}

// ---- LaTeX ----

std::string tex_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '\\': out += "\\textbackslash{}"; break;
      case '&': case '%': case '$': case '#': case '_': case '{': case '}':
        out += '\\';
        out += c;
        break;
      case '~': out += "\\textasciitilde{}"; break;
      case '^': out += "\\textasciicircum{}"; break;
      default: out += c;
    }
  }
  return out;
}

std::string tex_slot(const Slot& s) {
  switch (s.kind) {
    case Slot::Number: return fixed(s.value, s.decimals) + (s.show_n ? fmt::format(" ($n={}$)", s.n) : "");
    case Slot::Diff: return fmt::format("${} \\pm {}$", signed_fixed(s.value, s.decimals), fixed(s.spread, s.decimals));
    case Slot::PValue: return fmt::format("$p={}$ ($n={}${})", p_text(s.value), s.n, s.exact ? "" : ", MC");
    case Slot::Missing: return fmt::format("-- ($n={}$)", s.n);
    case Slot::Printed: return s.printed == "-" ? "--" : tex_escape(s.printed);
    case Slot::Blank: return "";
  }
  return "";
}

std::string render_tex(const Document& doc) {
  std::string out = "% " + doc.title + "\n";
  for (const std::string& p : doc.provenance) out += "% " + p + "\n";
  for (const Grid& g : doc.grids) {
    const size_t k = g.slot_headers.size();
    out += "\n% " + g.heading + "\n";
    out += "\\noindent\\textbf{" + tex_escape(g.heading) + "}\\par\n";
    for (const std::string& l : g.intro) out += tex_escape(l) + "\\par\n";
    std::string spec = "l";
    for (size_t i = 0; i < g.groups.size(); ++i) spec += "|" + std::string(k, 'r');
    out += "\\begin{tabular}{" + spec + "}\n\\hline\n";
    if (!(g.groups.size() == 1 && g.groups[0].empty())) {
      for (const std::string& group : g.groups)
        out += fmt::format(" & \\multicolumn{{{}}}{{c}}{{{}}}", k, tex_escape(group));
      out += " \\\\\n";
    }
    for (size_t i = 0; i < g.groups.size(); ++i)
      for (const std::string& h : g.slot_headers) out += " & " + tex_escape(h);
    out += " \\\\\n\\hline\n";
    for (const GridRow& r : g.rows) {
      out += tex_escape(r.label);
      for (const Slot& s : r.slots) out += " & " + tex_slot(s);
      out += " \\\\\n";
    }
    out += "\\hline\n\\end{tabular}\n";
    for (const std::string& l : g.after) out += "\n" + tex_escape(l) + "\n";
  }
  return out;
}

// ---- HTML: the same grids as tables, rows classed by section for styling ----

std::string html_grid(const Grid& g) {
  std::string out = "<h3>" + html::escape(g.heading) + "</h3>\n";
  for (const std::string& l : g.intro) out += "<p>" + html::escape(l) + "</p>\n";
  out += "<div class=\"scroll\"><table>\n<thead>\n";
  if (!(g.groups.size() == 1 && g.groups[0].empty())) {
    out += "<tr><th></th>";
    for (const std::string& group : g.groups)
      out += fmt::format("<th colspan=\"{}\">{}</th>", g.slot_headers.size(), html::escape(group));
    out += "</tr>\n";
  }
  out += "<tr><th></th>";
  for (size_t i = 0; i < g.groups.size(); ++i)
    for (const std::string& h : g.slot_headers) out += "<th>" + html::escape(h) + "</th>";
  out += "</tr>\n</thead>\n<tbody>\n";
  for (const GridRow& r : g.rows) {
    out += fmt::format("<tr class=\"{}\"><td>{}</td>", html::escape(r.section), html::escape(r.label));
    for (const Slot& s : r.slots) out += "<td>" + html::escape(md_slot(s)) + "</td>";
    out += "</tr>\n";
  }
  out += "</tbody>\n</table></div>\n";
  if (!g.after.empty()) {
    out += "<ul class=\"notes\">\n";
    for (const std::string& l : g.after) out += "<li>" + html::escape(l) + "</li>\n";
    out += "</ul>\n";
  }
  return out;
}

std::string html_body(const Document& doc, const std::string& figure_svg) {
  std::string out = "<ul class=\"provenance\">\n";
  for (const std::string& p : doc.provenance) out += "<li>" + html::escape(p) + "</li>\n";
  out += "</ul>\n";
  if (!figure_svg.empty()) out += "<figure>\n" + figure_svg + "</figure>\n";
  for (const Grid& g : doc.grids) out += html_grid(g);
  return out;
}

// ---- SVG figure ----

std::optional<double> numeric(const std::string& s) {
  const double v = paper_value(s);
  if (!std::isfinite(v)) return std::nullopt;
  return v;
}

// Each seed as a circle, the median as the line, the quartiles as the band: a
// broken seed shows as one far circle instead of dragging a mean and a +-std band
// (possibly below zero) with it. The y axis turns logarithmic when every value is
// positive and our seeds span more than a factor of 20.
svg::Panel our_panel(const Layout& layout, const TableResult& t, size_t m) {
  svg::Panel p;
  const MetricSpec& metric = layout.metrics[m];
  p.title = fmt::format("Ours: {} ({} is better)", metric.label, metric.lower_is_better ? "lower" : "higher");
  p.x_label = layout.column_label;
  p.y_label = metric.label + " (line: median; band: quartiles; circles: seeds)";
  p.log_x = layout.log_x;
  std::vector<double> xs;
  for (const std::string& c : t.columns) xs.push_back(numeric(c).value_or(kNaN));
  p.x_ticks = xs;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  bool all_positive = true;
  auto add = [&](const RowResult& row, const std::string& label, bool spread, const std::string& color, bool dashed) {
    svg::Series s;
    s.label = label;
    s.x = xs;
    s.color = color;
    s.dashed = dashed;
    for (size_t c = 0; c < t.columns.size(); ++c) {
      const Summary& sum = row.cells[c][m];
      const double y = sum.n ? sum.median * metric.scale : kNaN;
      s.y.push_back(y);
      if (spread) {
        s.lo.push_back(sum.n > 1 ? sum.q1 * metric.scale : kNaN);
        s.hi.push_back(sum.n > 1 ? sum.q3 * metric.scale : kNaN);
        for (double v : sum.values) {
          s.dot_x.push_back(xs[c]);
          s.dot_y.push_back(v * metric.scale);
        }
      }
      if (spread)  // our rows decide the axis; a reference (an oracle near 0) does not
        for (double v : sum.values) {
          lo = std::min(lo, v * metric.scale), hi = std::max(hi, v * metric.scale);
          all_positive = all_positive && v * metric.scale > 0;
        }
    }
    p.series.push_back(std::move(s));
  };
  for (size_t i = 0; i < t.rows.size(); ++i) add(t.rows[i], t.rows[i].label, true, svg::palette(i), false);
  const char* greys[] = {"#555555", "#888888", "#aaaaaa"};
  for (size_t i = 0; i < t.references.size(); ++i)
    add(t.references[i], layout.references[i].legend, false, greys[i % 3], true);
  p.log_y = all_positive && lo <= hi && hi > 20 * lo;
  return p;
}

// The paper's curve for one metric, on the paper's own axis, dashed.
svg::Panel paper_panel(const PaperTable& paper, const MetricSpec& metric) {
  svg::Panel p;
  p.title = fmt::format("Paper ({}), {}: {}", paper.model, paper.id, metric.label);
  p.x_label = paper.axis_label + " (the paper's axis, not ours)";
  p.y_label = metric.label;
  const auto it = std::find(paper.value_labels.begin(), paper.value_labels.end(), metric.label + " mean");
  if (it == paper.value_labels.end()) return p;
  const size_t offset = static_cast<size_t>(it - paper.value_labels.begin());
  for (const std::string& v : paper.axis_values) p.x_ticks.push_back(numeric(v).value_or(kNaN));
  for (size_t r = 0; r < paper.rows.size(); ++r) {
    svg::Series s;
    s.label = "paper: " + paper.rows[r].loss;
    s.color = svg::palette(r);
    s.dashed = true;
    s.x = p.x_ticks;
    for (size_t a = 0; a < paper.axis_values.size(); ++a)
      s.y.push_back(paper_value(paper.rows[r].values[a * paper.value_labels.size() + offset]));
    p.series.push_back(std::move(s));
  }
  return p;
}

// The figure of an already aggregated layout (the HTML page draws it beside the
// tables of the same document, so the runs are aggregated once).
std::string figure_svg(const Layout& layout, const Document& doc, const TableResult& t) {
  svg::Figure fig;
  fig.title = layout.title;
  fig.header_lines = doc.provenance;
  svg::PanelRow ours{320, {}};
  for (size_t m = 0; m < layout.metrics.size(); ++m) ours.panels.push_back(our_panel(layout, t, m));
  fig.rows.push_back(std::move(ours));
  for (const std::string& id : layout.paper) {
    const PaperTable& paper = paper_table(id);
    svg::PanelRow row{220, {}};
    for (const MetricSpec& m : layout.metrics) row.panels.push_back(paper_panel(paper, m));
    fig.rows.push_back(std::move(row));
  }
  fig.footer_lines = doc.grids[0].after;
  return svg::render(fig);
}

std::string render_figure(const Layout& layout, const std::vector<RunRecord>& runs, const ReportContext& ctx) {
  TableResult t;
  const Document doc = build_document(layout, runs, ctx, &t);
  return figure_svg(layout, doc, t);
}

}  // namespace

Format parse_format(const std::string& name) {
  if (name == "md" || name == "markdown") return Format::Markdown;
  if (name == "csv") return Format::Csv;
  if (name == "tex" || name == "latex") return Format::Tex;
  if (name == "svg") return Format::Svg;
  if (name == "html") return Format::Html;
  throw Error(fmt::format("unknown report format '{}'; valid: md, csv, tex, svg, html", name));
}

std::string format_name(Format format) {
  switch (format) {
    case Format::Markdown: return "markdown";
    case Format::Csv: return "csv";
    case Format::Tex: return "tex";
    case Format::Svg: return "svg";
    case Format::Html: return "html";
  }
  return "";
}

std::string file_extension(Format format) {
  switch (format) {
    case Format::Markdown: return "md";
    case Format::Csv: return "csv";
    case Format::Tex: return "tex";
    case Format::Svg: return "svg";
    case Format::Html: return "html";
  }
  return "";
}

std::string render_html_body(const Layout& layout, const std::vector<RunRecord>& runs, const ReportContext& context) {
  TableResult t;
  const Document doc = build_document(layout, runs, context, &t);
  return html_body(doc, layout.kind == LayoutKind::Figure ? figure_svg(layout, doc, t) : "");
}

std::string render(const Layout& layout, const std::vector<RunRecord>& runs, Format format,
                   const ReportContext& context) {
  if (format == Format::Svg) {
    if (layout.kind != LayoutKind::Figure) {
      std::vector<std::string> figures;
      for (const std::string& name : layout_names())
        if (find_layout(name).kind == LayoutKind::Figure) figures.push_back(name);
      throw Error(fmt::format("'{}' is a table; svg is for figures ({}); tables render as md, csv or tex",
                              layout.name, fmt::join(figures, ", ")));
    }
    return render_figure(layout, runs, context);
  }
  const Document doc = build_document(layout, runs, context);
  switch (format) {
    case Format::Markdown: return render_markdown(doc, context.terminal);
    case Format::Csv: return render_csv(doc);
    case Format::Tex: return render_tex(doc);
    case Format::Html:
      return html::page(layout.title, {}, {{html::anchor(layout.name), layout.title, render_html_body(layout, runs, context)}});
    case Format::Svg: break;
  }
  return "";
}

ReportFiles write_report(const std::string& name, const std::vector<RunRecord>& runs, Format format,
                         const ReportContext& context, const std::string& out_dir) {
  return write_report(find_layout(name), runs, format, context, out_dir);
}

ReportFiles write_report(const Layout& layout, const std::vector<RunRecord>& runs, Format format,
                         const ReportContext& context, const std::string& out_dir) {
  const std::string& name = layout.name;
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  DIST2_CHECK(!ec, "cannot create report folder '{}': {}", out_dir, ec.message());
  const std::filesystem::path dir(out_dir);
  ReportFiles files;
  if (layout.kind == LayoutKind::Figure) {
    const std::string svg_path = (dir / (name + ".svg")).string();
    write_file_atomic(svg_path, render(layout, runs, Format::Svg, context));
    files.paths.push_back(svg_path);
    if (format == Format::Svg) return files;
  }
  const std::string path = (dir / (name + "." + file_extension(format))).string();
  write_file_atomic(path, render(layout, runs, format, context));
  files.paths.push_back(path);
  return files;
}

}  // namespace dist2::report
