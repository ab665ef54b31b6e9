#include "dist2/store/listing.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "dist2/util/csv.h"
#include "dist2/util/error.h"
#include "dist2/util/json.h"

namespace dist2::store {

namespace {

using Row = std::vector<std::string>;

std::string number_cell(double v) { return std::isfinite(v) ? fmt::format("{:.4g}", v) : fmt::format("{}", v); }

// 2024-05-01T12:34:56.789Z -> 2024-05-01 12:34:56 (UTC)
std::string short_time(const std::string& iso) {
  if (iso.size() < 19) return iso;
  std::string s = iso.substr(0, 19);
  s[10] = ' ';
  return s;
}

std::string truncated(const std::string& s, size_t width) {
  return s.size() <= width ? s : s.substr(0, width - 3) + "...";
}

// Columns padded to their widest cell, two spaces apart; no trailing blanks.
std::string aligned(const std::vector<Row>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size(); ++c) {
      if (width.size() <= c) width.push_back(0);
      width[c] = std::max(width[c], row[c].size());
    }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) line += row[c] + (c + 1 < row.size() ? std::string(width[c] - row[c].size() + 2, ' ') : "");
    out += line + "\n";
  }
  return out;
}

std::string csv_line(const Row& row) {
  std::string line;
  for (size_t c = 0; c < row.size(); ++c) line += (c ? "," : "") + csv_quote(row[c]);
  return line + "\n";
}

json::Json text_or_null(const std::string& s) { return s.empty() ? json::Json(nullptr) : json::Json(s); }

std::string duration_cell(const RunInfo& run) {
  const auto d = run_duration_s(run);
  return d ? format_duration(*d) : "-";
}

// The fields every output shares, as a JSON object.
json::Json json_run_fields(const RunInfo& r) {
  const auto d = run_duration_s(r);
  return {{"id", r.id},
          {"experiment", r.experiment},
          {"task", r.task},
          {"profile", r.profile},
          {"variant", r.variant},
          {"status", r.status},
          {"started_at", text_or_null(r.started_at)},
          {"ended_at", text_or_null(r.ended_at)},
          {"heartbeat_at", text_or_null(r.heartbeat_at)},
          {"duration_s", d ? json::Json(*d) : json::Json(nullptr)},
          {"config_hash", r.config_hash},
          {"commit", r.commit},
          {"host", r.host},
          {"pid", r.pid},
          {"error", text_or_null(r.error)},
          {"params", r.params}};
}

Row csv_run_header() {
  return {"id", "experiment", "task", "profile", "variant", "status", "started_at", "ended_at", "duration_s", "config_hash",
          "commit", "host", "pid", "error"};
}

Row csv_run_fields(const RunInfo& r) {
  const auto d = run_duration_s(r);
  return {r.id, r.experiment, r.task, r.profile, r.variant, r.status, r.started_at, r.ended_at,
          d ? fmt::format("{:.3f}", *d) : "", r.config_hash, r.commit, r.host, std::to_string(r.pid), r.error};
}

std::string format_runs_table(const std::vector<RunInfo>& runs, const std::vector<std::string>& param_keys,
                              const std::string& split, const std::vector<std::string>& metric_names,
                              const std::vector<std::map<std::string, double>>& finals, size_t hidden_params) {
  Row header{"id", "experiment", "status", "started (UTC)", "duration"};
  for (const auto& k : param_keys) header.push_back(k);
  for (const auto& m : metric_names) header.push_back(split + "." + m);
  std::vector<Row> rows{header};
  for (size_t i = 0; i < runs.size(); ++i) {
    const RunInfo& r = runs[i];
    Row row{r.id, r.experiment, r.status, short_time(r.started_at), duration_cell(r)};
    for (const auto& k : param_keys) {
      const auto it = r.params.find(k);
      row.push_back(it == r.params.end() ? "-" : truncated(it->second, 32));
    }
    for (const auto& m : metric_names) {
      const auto it = finals[i].find(m);
      row.push_back(it == finals[i].end() ? "-" : number_cell(it->second));
    }
    rows.push_back(row);
  }
  std::string out = aligned(rows);
  out += fmt::format("{} run{}", runs.size(), runs.size() == 1 ? "" : "s");
  if (hidden_params) out += fmt::format("; {} more varying param{} (choose with --param, or see --format csv)",
                                        hidden_params, hidden_params == 1 ? "" : "s");
  return out + "\n";
}

std::string format_runs_csv(const std::vector<RunInfo>& runs, const std::string& split,
                            const std::vector<std::string>& metric_names,
                            const std::vector<std::map<std::string, double>>& finals) {
  std::set<std::string> keys;
  for (const auto& r : runs)
    for (const auto& [k, v] : r.params) keys.insert(k);
  Row header = csv_run_header();
  for (const auto& k : keys) header.push_back("params." + k);
  for (const auto& m : metric_names) header.push_back("metrics." + split + "." + m);
  std::string out = csv_line(header);
  for (size_t i = 0; i < runs.size(); ++i) {
    Row row = csv_run_fields(runs[i]);
    for (const auto& k : keys) {
      const auto it = runs[i].params.find(k);
      row.push_back(it == runs[i].params.end() ? "" : it->second);
    }
    for (const auto& m : metric_names) {
      const auto it = finals[i].find(m);
      row.push_back(it == finals[i].end() ? "" : fmt::format("{:.17g}", it->second));
    }
    out += csv_line(row);
  }
  return out;
}

std::string format_runs_json(const std::vector<RunInfo>& runs, const std::string& split,
                             const std::vector<std::map<std::string, double>>& finals) {
  json::Json out = json::Json::array();
  for (size_t i = 0; i < runs.size(); ++i) {
    json::Json run = json_run_fields(runs[i]);
    if (!split.empty()) run["metrics"][split] = json::Json(finals[i]);  // NaN: null
    out.push_back(std::move(run));
  }
  return json::dump(out, 2) + "\n";
}

}  // namespace

Format parse_format(const std::string& name) {
  if (name == "table") return Format::table;
  if (name == "csv") return Format::csv;
  if (name == "json") return Format::json;
  throw Error(fmt::format("output format must be table, csv or json, got '{}'", name));
}

std::vector<std::string> varying_params(const std::vector<RunInfo>& runs) {
  std::set<std::string> keys;
  for (const auto& r : runs)
    for (const auto& [k, v] : r.params) keys.insert(k);
  std::vector<std::string> varying;
  for (const auto& k : keys) {
    std::set<std::optional<std::string>> seen;
    for (const auto& r : runs) {
      const auto it = r.params.find(k);
      seen.insert(it == r.params.end() ? std::nullopt : std::optional<std::string>(it->second));
    }
    if (seen.size() > 1) varying.push_back(k);
  }
  const std::vector<std::string> first{"loss.kind", "seed"};
  std::stable_partition(varying.begin(), varying.end(), [&](const std::string& k) {
    return std::find(first.begin(), first.end(), k) != first.end();
  });
  return varying;
}

std::optional<double> run_duration_s(const RunInfo& run) {
  const auto start = parse_iso(run.started_at);
  const auto end = parse_iso(run.ended_at.empty() ? now_iso() : run.ended_at);
  if (!start || !end) return std::nullopt;
  return std::max(0.0, *end - *start);
}

std::string format_duration(double s) {
  if (s < 60) return fmt::format("{:.1f}s", s);
  const auto secs = static_cast<int64_t>(std::llround(s));
  if (secs < 3600) return fmt::format("{}m{:02}s", secs / 60, secs % 60);
  return fmt::format("{}h{:02}m", secs / 3600, (secs % 3600) / 60);
}

std::string format_runs(Store& store, const std::vector<RunInfo>& runs, const ListingOptions& options) {
  // Final metrics of the chosen split, and the union of their names as columns.
  std::vector<std::map<std::string, double>> finals(runs.size());
  std::set<std::string> names;
  if (!options.metrics_split.empty())
    for (size_t i = 0; i < runs.size(); ++i) {
      finals[i] = store.final_metrics(runs[i].id, options.metrics_split);
      for (const auto& [name, v] : finals[i]) names.insert(name);
    }
  const std::vector<std::string> metric_names(names.begin(), names.end());

  switch (options.format) {
    case Format::csv: return format_runs_csv(runs, options.metrics_split, metric_names, finals);
    case Format::json: return format_runs_json(runs, options.metrics_split, finals);
    case Format::table: break;
  }
  if (runs.empty()) return fmt::format("no runs in store {} match\n", store.dir());
  std::vector<std::string> keys = options.param_keys.empty() ? varying_params(runs) : options.param_keys;
  size_t hidden = 0;
  if (options.param_keys.empty() && keys.size() > options.max_param_columns) {
    hidden = keys.size() - options.max_param_columns;
    keys.resize(options.max_param_columns);
  }
  return format_runs_table(runs, keys, options.metrics_split, metric_names, finals, hidden);
}

std::string format_run(Store& store, const RunInfo& r, Format format) {
  const auto finals = store.final_metrics_all(r.id);
  const auto artifacts = store.artifacts(r.id);
  const auto tags = store.tags(r.id);

  if (format == Format::json) {
    json::Json j = json_run_fields(r);
    j["final_metrics"] = json::Json(finals);
    j["artifacts"] = json::Json::array();
    for (const auto& a : artifacts)
      j["artifacts"].push_back(json::Json{{"kind", a.kind}, {"path", a.path}, {"created_at", a.created_at}});
    j["tags"] = json::Json(tags);
    j["config"] = r.config;
    return json::dump(j, 2) + "\n";
  }

  if (format == Format::csv) {  // field,value lines
    std::string out = csv_line({"field", "value"});
    const Row header = csv_run_header(), fields = csv_run_fields(r);
    for (size_t i = 0; i < header.size(); ++i) out += csv_line({header[i], fields[i]});
    for (const auto& [k, v] : r.params) out += csv_line({"params." + k, v});
    for (const auto& [split, m] : finals)
      for (const auto& [name, v] : m) out += csv_line({"metrics." + split + "." + name, fmt::format("{:.17g}", v)});
    for (const auto& [k, v] : tags) out += csv_line({"tags." + k, v});
    for (const auto& a : artifacts) out += csv_line({"artifacts." + a.kind, a.path});
    return out;
  }

  std::vector<Row> info{{"id", r.id},
                        {"experiment", r.experiment},
                        {"task", r.task},
                        {"profile", r.profile},
                        {"variant", r.variant.empty() ? "-" : r.variant},
                        {"status", r.status},
                        {"started", r.started_at},
                        {"ended", r.ended_at.empty() ? "-" : r.ended_at},
                        {"duration", duration_cell(r)},
                        {"heartbeat", r.heartbeat_at.empty() ? "-" : r.heartbeat_at},
                        {"config hash", r.config_hash},
                        {"commit", r.commit},
                        {"host", fmt::format("{} (pid {})", r.host, r.pid)}};
  if (!r.error.empty()) info.push_back({"error", r.error});
  std::string out = aligned(info);

  out += fmt::format("\nparams ({})\n", r.params.size());
  std::vector<Row> params;
  for (const auto& [k, v] : r.params) params.push_back({"  " + k, v});
  out += aligned(params);

  out += "\nfinal metrics\n";
  std::vector<Row> metric_rows;
  for (const auto& [split, m] : finals)
    for (const auto& [name, v] : m) metric_rows.push_back({"  " + split, name, number_cell(v)});
  out += metric_rows.empty() ? "  (none)\n" : aligned(metric_rows);

  if (!artifacts.empty()) {
    out += "\nartifacts\n";
    std::vector<Row> rows;
    for (const auto& a : artifacts) rows.push_back({"  " + a.kind, a.path});
    out += aligned(rows);
  }
  if (!tags.empty()) {
    out += "\ntags\n";
    std::vector<Row> rows;
    for (const auto& [k, v] : tags) rows.push_back({"  " + k, v});
    out += aligned(rows);
  }
  return out;
}

}  // namespace dist2::store
