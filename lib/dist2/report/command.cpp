// `dist2 report` as a library call: a paper table or figure from the store, our
// numbers beside the paper's; the samples report (figure 7), the picture
// reports, `all` (one page or every report's files) and the generic report of an
// experiment file of one's own.
#include "dist2/report/command.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <limits>
#include <regex>
#include <thread>

#include <fmt/format.h>

#include "dist2/image/image_file.h"
#include "dist2/report/action_samples.h"
#include "dist2/report/box_samples.h"
#include "dist2/report/examples.h"
#include "dist2/report/generic.h"
#include "dist2/report/html.h"
#include "dist2/report/layouts.h"
#include "dist2/report/render.h"
#include "dist2/report/samples.h"
#include "dist2/report/store_runs.h"
#include "dist2/report/svg.h"
#include "dist2/store/store.h"
#include "dist2/sweep/shards.h"
#include "dist2/tasks/task.h"
#include "dist2/util/error.h"
#include "dist2/util/files.h"

namespace dist2::report {

namespace {

// Opens the store at dir, which must exist, with the runs of cluster tasks'
// shards merged in first, so that a report sees runs a Slurm sweep left unmerged.
store::Store open_existing(const std::string& dir, const std::string& missing_hint) {
  DIST2_CHECK(store::Store::exists(dir), "no run store at {} ({})", dir, missing_hint);
  store::Store st(dir);
  for (const auto& p : merge_shards(st).problems) fmt::print(stderr, "warning: shard not merged: {}\n", p);
  return st;
}

const std::string kSamplesReport = "figure7";

std::vector<PictureReport>& picture_report_table() {
  static std::vector<PictureReport> v = {
      {"grounding-samples", "table1", ".acc50", "Grounding samples (appendix F)", true, report::write_box_samples},
      {"manipulation-samples", "table2_families", ".success", "Manipulation samples (Table 2's task)", true,
       report::write_action_samples}};
  return v;
}
const std::vector<PictureReport>& picture_reports() { return picture_report_table(); }
const PictureReport* find_picture_report(const std::string& name) {
  for (const auto& p : picture_reports())
    if (p.name == name) return &p;
  return nullptr;
}


std::string machine_description() {
  utsname u{};
  uname(&u);
  return fmt::format("{} ({} {}, {} cores)", u.nodename, u.sysname, u.machine, std::thread::hardware_concurrency());
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", std::gmtime(&t));
  return buf;
}

// Figure 7: the samples artifacts of one run per loss, not a layout of metrics.
std::string samples_markdown(const ReportRequest& o, const std::vector<report::RunRecord>& runs,
                             const report::ReportContext& ctx) {
  store::Store st(o.store);
  std::vector<report::SampleSet> sets;
  for (const auto& row : report::sample_rows()) {
    const report::RunRecord* run = report::lowest_seed_run(runs, row);
    if (!run) continue;
    for (const auto& a : st.artifacts(run->id))
      if (a.kind == "samples" && std::filesystem::exists(a.path))
        sets.push_back({row.label, run->id, run->params.at("seed"), read_file(a.path)});
  }
  return report::render_samples(sets, ctx);
}

void write_samples(const ReportRequest& o, const std::vector<report::RunRecord>& runs, const report::ReportContext& ctx) {
  const std::string md = samples_markdown(o, runs, ctx);
  if (o.out.empty()) {
    fmt::print("{}", md);
    return;
  }
  make_dirs(o.out);
  const std::string path = (std::filesystem::path(o.out) / (o.name + ".md")).string();
  write_file_atomic(path, md);
  fmt::print("wrote {}\n", path);
}

std::string samples_html(const ReportRequest& o, const std::vector<report::RunRecord>& runs,
                         const report::ReportContext& ctx) {
  return "<pre>" + report::html::escape(samples_markdown(o, runs, ctx)) + "</pre>\n";
}

// Each run's per-example scores (its "examples" artifact), by run id.
std::map<std::string, std::vector<report::ExampleRow>> run_examples(const ReportRequest& o,
                                                                    const std::vector<report::RunRecord>& runs) {
  store::Store st(o.store);
  std::map<std::string, std::vector<report::ExampleRow>> out;
  for (const auto& r : runs)
    for (const auto& a : st.artifacts(r.id))
      if (a.kind == "examples" && std::filesystem::exists(a.path))
        out[r.id] = report::parse_examples_csv(read_file(a.path), a.path);
  return out;
}

// Table 13: the IoU of sft and dist on the test examples both get wrong, per seed.
void add_shared_failures(const ReportRequest& o, std::vector<report::RunRecord>& runs) {
  const auto examples = run_examples(o, runs);
  const report::Layout& l = report::find_layout("table13");
  auto with_common = [&](report::RowSpec row) {
    row.filter.insert(row.filter.begin(), l.common.begin(), l.common.end());
    return row;
  };
  const auto sft = with_common(l.rows.at(0)), dist = with_common(l.rows.at(1));
  for (const std::string group : {"ref.testA", ""})
    report::add_shared_failure_metrics(runs, examples, sft, dist, {}, group, 0.5, "shared_failures");
}

// A picture report: one seed's sft and dist predictions drawn on test scenes.
std::string write_picture_samples(const ReportRequest& o, const std::vector<report::RunRecord>& runs,
                                  const report::ReportContext& ctx, const PictureReport& pictures) {
  DIST2_CHECK(!o.out.empty(), "{} writes PNG pictures: give --out DIR", o.name);
  store::Store st(o.store);
  set_asset_dir(o.store + "/assets");
  const report::Layout& layout = report::find_layout(pictures.layout);
  std::vector<report::SampleRun> sample_runs;
  std::vector<Image> images;
  const report::RunRecord* anchor = nullptr;
  for (const char* label : {"sft", "dist"}) {
    for (auto row : layout.rows) {
      if (row.label != label) continue;
      row.filter.insert(row.filter.begin(), layout.common.begin(), layout.common.end());
      // The sft run of the lowest seed, then the dist run that pairs with it.
      // It pairs on the seed, the column and every pinned param (runs from scratch and
      // from a backbone never pair).
      if (anchor) {
        row.filter.push_back({"seed", anchor->params.at("seed")});
        for (const std::string& key : {std::string("task.n_train"), layout.column_key})
          if (!key.empty() && anchor->params.count(key)) row.filter.push_back({key, anchor->params.at(key)});
        for (const auto& key : layout.pins)
          if (anchor->params.count(key)) row.filter.push_back({key, anchor->params.at(key)});
      }
      const report::RunRecord* run = report::lowest_seed_run(runs, row);
      if (!run) continue;
      if (!anchor) anchor = run;
      report::SampleRun br{label, run->id, {}, st.get_run(run->id)->config};
      for (const auto& a : st.artifacts(run->id)) {
        if (a.kind == "examples" && std::filesystem::exists(a.path))
          br.examples = report::parse_examples_csv(read_file(a.path), a.path);
        if (a.kind == "dataset" && images.empty() && std::filesystem::exists(a.path + "/test.images"))
          images = read_image_file(a.path + "/test.images");
      }
      if (!br.examples.empty()) sample_runs.push_back(std::move(br));
    }
  }
  std::vector<std::string> groups;
  const std::string& suffix = pictures.group_suffix;
  for (const auto& m : layout.metrics)
    if (m.key.size() > suffix.size() && m.key.compare(m.key.size() - suffix.size(), suffix.size(), suffix) == 0)
      groups.push_back(m.key.substr(0, m.key.size() - suffix.size()));
  if (pictures.needs_scenes && images.empty()) sample_runs.clear();
  const std::string md = pictures.write(sample_runs, images, groups, ctx, o.out, o.name);
  const std::string path = (std::filesystem::path(o.out) / (o.name + ".md")).string();
  write_file_atomic(path, md);
  fmt::print("wrote {}\n", path);
  return md;
}

// The PNG files a picture report's Markdown shows (`![...](NAME.png)`), in order:
// each report names its own files (grounding-samples-1.png, imagegen-samples-sft.png).
std::vector<std::string> linked_pngs(const std::string& md) {
  static const std::regex link(R"(\]\(([^()/\s]+\.png)\))");
  std::vector<std::string> names;
  for (auto it = std::sregex_iterator(md.begin(), md.end(), link); it != std::sregex_iterator(); ++it)
    if (std::find(names.begin(), names.end(), (*it)[1].str()) == names.end()) names.push_back((*it)[1].str());
  return names;
}

// The pictures inline (PNG data), so that the page needs no file beside it.
std::string picture_samples_html(const ReportRequest& o, const std::vector<report::RunRecord>& runs,
                                 const report::ReportContext& ctx, const PictureReport& pictures) {
  const std::string md = write_picture_samples(o, runs, ctx, pictures);
  std::string out = "<div>";
  for (const std::string& name : linked_pngs(md)) {
    const std::string bytes = read_file((std::filesystem::path(o.out) / name).string());
    out += "<figure style=\"display:inline-block\">" +
           report::html::png_img(std::vector<uint8_t>(bytes.begin(), bytes.end()), name) + "<figcaption>" +
           report::html::escape(name) + "</figcaption></figure>\n";
  }
  return out + "</div>\n<pre>" + report::html::escape(md) + "</pre>\n";
}

// Training loss against step, one line per seed, for the baseline row (else the
// first) at the largest column value: how each run got where the table shows.
std::string learning_curves_html(const ReportRequest& o, const report::Layout& layout,
                                 const std::vector<report::RunRecord>& runs) {
  if (layout.rows.empty()) return "";
  auto row = layout.rows.front();
  for (const auto& r : layout.rows)
    if (r.label == layout.baseline) row = r;
  row.filter.insert(row.filter.begin(), layout.common.begin(), layout.common.end());
  std::vector<const report::RunRecord*> picked;
  for (const auto& r : runs)
    if (report::is_finished(r) && report::matches(r, row.filter)) picked.push_back(&r);
  if (!layout.column_key.empty()) {
    double best = -std::numeric_limits<double>::infinity();
    for (const auto* r : picked)
      if (r->params.count(layout.column_key))
        best = std::max(best, report::as_number(r->params.at(layout.column_key)).value_or(best));
    picked.erase(std::remove_if(picked.begin(), picked.end(),
                                [&](const report::RunRecord* r) {
                                  return !r->params.count(layout.column_key) ||
                                         report::as_number(r->params.at(layout.column_key)) != best;
                                }),
                 picked.end());
  }
  if (picked.empty()) return "";
  std::sort(picked.begin(), picked.end(), [](const auto* a, const auto* b) {
    return report::as_number(a->params.at("seed")).value_or(0) < report::as_number(b->params.at("seed")).value_or(0);
  });
  if (picked.size() > 10) picked.resize(10);
  store::Store st(o.store);
  report::svg::Panel panel;
  panel.title = "train loss by step";
  panel.x_label = "step";
  panel.y_label = "train loss";
  for (size_t i = 0; i < picked.size(); ++i) {
    report::svg::Series s;
    s.label = "seed " + picked[i]->params.at("seed");
    s.color = report::svg::palette(i);
    for (const auto& m : st.metrics(picked[i]->id, "train", "loss")) s.x.push_back(static_cast<double>(m.step)), s.y.push_back(m.value);
    panel.series.push_back(std::move(s));
  }
  report::svg::Figure fig;
  fig.title = fmt::format("Learning curves: {}{}", row.label,
                          layout.column_key.empty() ? "" : fmt::format(" at {} = {}", layout.column_label,
                                                                        picked[0]->params.at(layout.column_key)));
  fig.header_lines = {fmt::format("{} runs: {}", picked.size(), [&] {
    std::string ids;
    for (const auto* r : picked) ids += (ids.empty() ? "" : ", ") + r->id;
    return ids;
  }())};
  fig.rows.push_back({260, {panel}});
  return "<h3>Learning curves</h3>\n<figure>\n" + report::svg::render(fig) + "</figure>\n";
}

// The finished runs that feed report `name`, and where they came from.
struct Collected {
  std::vector<report::RunRecord> runs;
  report::ReportContext ctx;
  int trials = 0, missing = 0;
};

// The experiments given with --experiment, by name (a file stands for its `experiment:` name).
std::vector<std::string> given_experiment_names(const ReportRequest& o) {
  std::vector<std::string> names;
  for (const auto& e : o.experiments) {
    const auto ext = std::filesystem::path(e).extension().string();
    names.push_back(ext == ".yaml" || ext == ".yml" ? report::experiment_name_of_file(e) : e);
  }
  return names;
}

// The experiments a report reads: those given, else those whose recorded sweep names the report.
std::vector<std::string> report_experiment_names(const ReportRequest& o, store::Store& st, const std::string& name) {
  if (o.experiments.empty()) return report::report_experiments(st, name);
  return given_experiment_names(o);
}

// What `report all` reads for report `name`: the experiments whose sweep names
// it and was recorded at this profile (a store may hold a quick sweep of one
// experiment beside the default sweep of another), only those given with
// --experiment when any are.
std::vector<std::string> all_report_experiments(const std::vector<std::string>& given, const std::string& profile,
                                                store::Store& st, const std::string& name) {
  std::vector<std::string> out;
  for (const auto& e : st.experiments_for_report(name)) {
    if (!given.empty() && std::find(given.begin(), given.end(), e) == given.end()) continue;
    if (!st.planned_trials(e, profile).empty()) out.push_back(e);
  }
  return out;
}

// The store a report reads; reading never creates one.
store::Store open_store(const ReportRequest& o) {
  return open_existing(o.store, "run a sweep first, or pass --store");
}

Collected collect(const ReportRequest& o, store::Store& st, const std::string& name, const std::string& command) {
  Collected c;
  std::vector<std::string> commits;
  for (const auto& experiment : report_experiment_names(o, st, name)) {
    auto found = report::experiment_runs(st, experiment, o.profile);
    c.trials += found.trials, c.missing += found.missing;
    c.runs.insert(c.runs.end(), found.runs.begin(), found.runs.end());
    for (const auto& commit : found.commits)
      if (std::find(commits.begin(), commits.end(), commit) == commits.end()) commits.push_back(commit);
  }
  c.ctx.command = command;
  c.ctx.profile = o.profile;
  for (const auto& commit : commits) c.ctx.commit += (c.ctx.commit.empty() ? "" : ", ") + commit;
  c.ctx.date = utc_now();
  c.ctx.machine = machine_description();
  for (const auto& p : o.pins) {
    const auto eq = p.find('=');
    DIST2_CHECK(eq != std::string::npos, "--pin must be key=value, got '{}'", p);
    c.ctx.pins[p.substr(0, eq)] = p.substr(eq + 1);
  }
  return c;
}

void warn_missing(const std::string& name, const Collected& c) {
  if (c.missing > 0)
    fmt::print(stderr, "report {}: {} of {} trials have no finished run yet (run `dist2 sweep` first); their cells are empty\n",
               name, c.missing, c.trials);
}

bool is_experiment_file(const std::string& name) {
  const auto ext = std::filesystem::path(name).extension().string();
  if (ext != ".yaml" && ext != ".yml") return false;
  DIST2_CHECK(std::filesystem::is_regular_file(name), "no experiment file '{}'", name);
  return true;
}

// `dist2 report my.yaml`: the generic layout over that file's trials.
void run_generic(const ReportRequest& o, const std::string& command) {
  const std::string experiment = report::experiment_name_of_file(o.name);
  store::Store st = open_store(o);
  std::vector<report::Axis> axes;
  for (const auto& t : st.planned_trials(experiment, o.profile)) {
    // A trial's label is its grid point unless a variant's name leads it.
    std::string grid_label;
    for (const auto& kv : t.settings) grid_label += (grid_label.empty() ? "" : " ") + kv;
    DIST2_CHECK(t.variant == grid_label, "{} has variants; the generic report knows sweep axes only (trial '{}')",
                o.name, t.variant);
    for (const std::string& kv : t.settings) {
      const auto eq = kv.find('=');
      const std::string key = kv.substr(0, eq), value = kv.substr(eq + 1);
      auto it = std::find_if(axes.begin(), axes.end(), [&](const report::Axis& a) { return a.first == key; });
      if (it == axes.end()) it = axes.insert(axes.end(), {key, {}});
      if (std::find(it->second.begin(), it->second.end(), value) == it->second.end()) it->second.push_back(value);
    }
  }
  ReportRequest one = o;
  one.experiments = {o.name};
  Collected c = collect(one, st, o.name, command);
  warn_missing(o.name, c);
  report::GenericOptions g;
  g.name = std::filesystem::path(o.name).stem().string();
  g.baseline = o.baseline;
  g.metrics = o.metrics;
  const report::Layout layout = report::generic_layout(g, axes, c.runs);
  const auto format = report::parse_format(o.format);
  DIST2_CHECK(format != report::Format::Svg, "the generic report is a table: md, csv, tex or html");
  if (o.out.empty()) {
    c.ctx.terminal = isatty(STDOUT_FILENO) != 0;
    fmt::print("{}", report::render(layout, c.runs, format, c.ctx));
    return;
  }
  for (const auto& path : report::write_report(layout, c.runs, format, c.ctx, o.out).paths) fmt::print("wrote {}\n", path);
}

void run_report(const ReportRequest& o, const std::string& command) {
  const bool samples = o.name == kSamplesReport;
  const PictureReport* pictures = find_picture_report(o.name);
  if (!samples && !pictures) report::find_layout(o.name);  // a typo fails here, naming the valid reports
  store::Store st = open_store(o);
  Collected c = collect(o, st, o.name, command);
  warn_missing(o.name, c);
  if (samples) return write_samples(o, c.runs, c.ctx);
  if (pictures) {
    write_picture_samples(o, c.runs, c.ctx, *pictures);
    return;
  }
  if (o.name == "table13") add_shared_failures(o, c.runs);
  const auto format = report::parse_format(o.format);
  if (o.out.empty()) {
    c.ctx.terminal = isatty(STDOUT_FILENO) != 0;
    fmt::print("{}", report::render(report::find_layout(o.name), c.runs, format, c.ctx));
    return;
  }
  for (const auto& path : report::write_report(o.name, c.runs, format, c.ctx, o.out).paths) fmt::print("wrote {}\n", path);
}

// `dist2 report all`: every report the store can fill. As html, one page
// (out/index.html) with a section per report; in another format, each report's
// own files, as `dist2 report NAME --out` writes them.
void run_all(const ReportRequest& o, const std::string& command) {
  DIST2_CHECK(!o.out.empty(), "report all writes a folder of files: give --out DIR");
  const auto format = report::parse_format(o.format);
  store::Store st = open_store(o);
  std::vector<report::html::Section> sections;
  std::vector<std::string> empty;
  int fed = 0;  // reports some sweep at this profile feeds
  const std::vector<std::string> given = given_experiment_names(o);  // read once: files are parsed
  std::vector<std::string> names = report::layout_names();
  names.push_back(kSamplesReport);
  for (const auto& p : picture_reports()) names.push_back(p.name);
  for (const std::string& name : names) {
    const PictureReport* pictures = find_picture_report(name);
    ReportRequest one = o;
    one.name = name;
    one.experiments = all_report_experiments(given, o.profile, st, name);  // read once: collect() uses them as given
    if (one.experiments.empty()) continue;
    ++fed;
    Collected c = collect(one, st, name, command);
    if (c.runs.empty()) {
      empty.push_back(name);
      continue;
    }
    warn_missing(name, c);
    if (name == "table13") add_shared_failures(one, c.runs);
    if (format != report::Format::Html) {
      if (name == kSamplesReport) write_samples(one, c.runs, c.ctx);
      else if (pictures) write_picture_samples(one, c.runs, c.ctx, *pictures);
      else
        for (const auto& path : report::write_report(name, c.runs, format, c.ctx, o.out).paths)
          fmt::print("wrote {}\n", path);
      continue;
    }
    if (name == kSamplesReport) {
      sections.push_back({name, "Figure 7: reward samples", samples_html(one, c.runs, c.ctx)});
    } else if (pictures) {
      sections.push_back({name, pictures->title, picture_samples_html(one, c.runs, c.ctx, *pictures)});
    } else {
      const report::Layout& layout = report::find_layout(name);
      std::string body = report::render_html_body(layout, c.runs, c.ctx);
      if (!layout.setup) body += learning_curves_html(one, layout, c.runs);  // a setup table has no training story
      sections.push_back({name, layout.title, body});
    }
  }
  if (fed == 0) {
    const auto profiles = st.swept_profiles();
    throw Error(fmt::format(
        "store {} has no sweep{} at profile '{}' ({})", o.store,
        o.experiments.empty() ? "" : fmt::format(" of {}", fmt::join(o.experiments, ", ")), o.profile,
        profiles.empty() ? std::string("it has no recorded sweep: run `dist2 sweep` first")
                         : fmt::format("its sweeps' profiles: {}; pass --profile", fmt::join(profiles, ", "))));
  }
  if (format != report::Format::Html) return;
  std::vector<std::string> header = {"command: " + command, "profile: " + o.profile, "date: " + utc_now(),
                                     "machine: " + machine_description(),
                                     "store: " + o.store};
  if (!o.experiments.empty()) header.push_back(fmt::format("experiments: {}", fmt::join(o.experiments, ", ")));
  header.push_back(sections.empty() ? std::string("no report has a finished run in this store yet")
                                    : fmt::format("{} reports with finished runs; each section gives its own commit and runs",
                                                  sections.size()));
  if (!empty.empty()) header.push_back("reports with no finished run yet: " + fmt::format("{}", fmt::join(empty, ", ")));
  make_dirs(o.out);
  const std::string path = (std::filesystem::path(o.out) / "index.html").string();
  const std::string title = o.experiments.empty()
                                ? std::string("dist2: every table and figure this store can fill")
                                : fmt::format("dist2: the tables and figures of {}", fmt::join(o.experiments, ", "));
  write_file_atomic(path, report::html::page(title, header, sections));
  fmt::print("wrote {}\n", path);
}

}  // namespace

std::string samples_report_name() { return kSamplesReport; }

void add_picture_report(PictureReport p) {
  auto& table = picture_report_table();
  const auto same = std::find_if(table.begin(), table.end(), [&](const PictureReport& q) { return q.name == p.name; });
  if (same != table.end()) *same = std::move(p);
  else table.push_back(std::move(p));
}

std::vector<std::string> picture_report_names() {
  std::vector<std::string> names;
  for (const auto& p : picture_reports()) names.push_back(p.name);
  return names;
}

void run_report_request(const ReportRequest& r) {
  if (r.name == "all") return run_all(r, r.command);
  if (is_experiment_file(r.name)) return run_generic(r, r.command);
  run_report(r, r.command);
}

}  // namespace dist2::report
