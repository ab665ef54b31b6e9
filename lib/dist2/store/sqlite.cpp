#include "dist2/store/sqlite.h"

#include <cstring>
#include <limits>

#include <sqlite3.h>

namespace dist2::store::sql {

// ---- Statement ----

Statement::Statement(Connection& db, sqlite3_stmt* stmt, std::string op) : db_(db), stmt_(stmt), op_(std::move(op)) {}

Statement::~Statement() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Statement& Statement::bind(int index, const std::string& value) {
  const int rc = sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) db_.fail(rc, op_);
  return *this;
}

Statement& Statement::bind(int index, int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) db_.fail(rc, op_);
  return *this;
}

Statement& Statement::bind(int index, double value) {
  const int rc = sqlite3_bind_double(stmt_, index, value);
  if (rc != SQLITE_OK) db_.fail(rc, op_);
  return *this;
}

Statement& Statement::bind(int index, const std::optional<std::string>& value) {
  return value ? bind(index, *value) : bind_null(index);
}

Statement& Statement::bind_null(int index) {
  const int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) db_.fail(rc, op_);
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  db_.fail(rc, op_);
}

void Statement::run() {
  while (step()) {
  }
}

bool Statement::is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

std::string Statement::text(int col) const {
  const auto* p = sqlite3_column_text(stmt_, col);
  if (!p) return {};
  return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

int64_t Statement::int64(int col) const { return sqlite3_column_int64(stmt_, col); }

double Statement::real(int col) const {
  return is_null(col) ? std::numeric_limits<double>::quiet_NaN() : sqlite3_column_double(stmt_, col);
}

// ---- Connection ----

void Connection::CloseDb::operator()(sqlite3* db) const { sqlite3_close_v2(db); }
void Connection::FinalizeStmt::operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }

Connection::Connection(const std::string& path, std::string label) : label_(std::move(label)) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  db_.reset(raw);  // sqlite3_open_v2 returns a handle even on failure; it must be closed
  if (rc != SQLITE_OK) {
    const std::string msg = raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    throw Error(fmt::format("store {}: cannot open {}: {}", label_, path, msg));
  }
  sqlite3_extended_result_codes(raw, 1);
}

Connection::~Connection() = default;

Statement Connection::prepare(const std::string& sql, const std::string& op) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_.get(), sql.c_str(), static_cast<int>(sql.size()) + 1,
                                      SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      fail(rc, op);
    }
    it = cache_.emplace(sql, std::unique_ptr<sqlite3_stmt, FinalizeStmt>(stmt)).first;
  }
  return Statement(*this, it->second.get(), op);
}

void Connection::exec(const std::string& sql, const std::string& op) {
  const int rc = sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) fail(rc, op);
}

bool Connection::in_transaction() const { return sqlite3_get_autocommit(db_.get()) == 0; }

int64_t Connection::changes() const { return sqlite3_changes(db_.get()); }

void Connection::fail(int rc, const std::string& op) const {
  const int primary = rc & 0xff;
  std::string msg = fmt::format("store {}: {} failed: {}", label_, op, sqlite3_errmsg(db_.get()));
  // "disk I/O error" alone does not say that the disk is full or the file too large.
  if (const int err = sqlite3_system_errno(db_.get());
      err != 0 && (primary == SQLITE_IOERR || primary == SQLITE_FULL || primary == SQLITE_CANTOPEN))
    msg += fmt::format(" ({})", std::strerror(err));
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) throw Busy(msg);
  throw Error(msg);
}

}  // namespace dist2::store::sql
