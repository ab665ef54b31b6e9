#pragma once
// The store's schema as an ordered list of migrations: migrations()[v] takes a
// database from schema version v to v + 1 (v1 is the initial schema). A new
// version appends a step; a released step is never edited.
#include <string>
#include <vector>

#include "dist2/store/sqlite.h"

namespace dist2::store::schema {

const std::vector<std::string>& migrations();
inline int latest_version() { return static_cast<int>(migrations().size()); }

// The version recorded in the database (0 for an empty one).
int recorded_version(sql::Connection& db);
// Throws "store DIR was written by a newer dist2 ..." when version is unknown here.
void check_not_newer(sql::Connection& db, int version);

// Applies the missing migrations in order; the caller holds a write transaction.
// Throws when the database is newer than this build.
void migrate(sql::Connection& db);

}  // namespace dist2::store::schema
