#pragma once
// A thin RAII layer over the SQLite C API, used by the run store only: one
// connection with a cache of prepared statements, statements that reset
// themselves, and errors as dist2::Error naming the operation and sqlite3_errmsg.
// Lock contention (SQLITE_BUSY / SQLITE_LOCKED) is thrown as sql::Busy so that the
// store can retry the whole transaction.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "dist2/util/error.h"

struct sqlite3;
struct sqlite3_stmt;

namespace dist2::store::sql {

// Another connection holds the lock longer than busy_timeout, or SQLite gave up
// waiting (e.g. while it recovers a WAL file): retrying the transaction helps.
struct Busy : Error {
  using Error::Error;
};

class Connection;

// A prepared statement borrowed from the connection's cache; it is reset and its
// bindings cleared when the Statement goes out of scope. Parameters are 1-based,
// columns 0-based, as in the C API.
class Statement {
 public:
  Statement(Connection& db, sqlite3_stmt* stmt, std::string op);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, const std::string& value);
  Statement& bind(int index, int64_t value);
  Statement& bind(int index, double value);
  Statement& bind(int index, const std::optional<std::string>& value);  // nullopt -> NULL
  Statement& bind_null(int index);

  bool step();  // true while a row is available
  void run();   // step to the end, ignoring rows

  bool is_null(int col) const;
  std::string text(int col) const;  // NULL -> ""
  int64_t int64(int col) const;
  double real(int col) const;  // NULL -> NaN (SQLite stores NaN as NULL)

 private:
  Connection& db_;
  sqlite3_stmt* stmt_;
  std::string op_;
};

class Connection {
 public:
  // `label` names the store in error messages.
  Connection(const std::string& path, std::string label);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // A cached prepared statement for `sql`; `op` says what it does, for errors.
  Statement prepare(const std::string& sql, const std::string& op);
  // One or more statements without results (schema, pragmas, BEGIN/COMMIT).
  void exec(const std::string& sql, const std::string& op);

  bool in_transaction() const;
  int64_t changes() const;  // rows changed by the last INSERT/UPDATE/DELETE
  const std::string& label() const { return label_; }

  // Throws Busy for lock contention, Error otherwise; never returns.
  [[noreturn]] void fail(int rc, const std::string& op) const;

 private:
  struct CloseDb {
    void operator()(sqlite3* db) const;
  };
  struct FinalizeStmt {
    void operator()(sqlite3_stmt* s) const;
  };
  std::string label_;
  std::unique_ptr<sqlite3, CloseDb> db_;  // declared first: destroyed after the statements
  std::unordered_map<std::string, std::unique_ptr<sqlite3_stmt, FinalizeStmt>> cache_;
};

}  // namespace dist2::store::sql
