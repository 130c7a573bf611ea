// Thin RAII wrapper over the SQLite C API, shared by the inbox and the PHR store.
// Db owns one connection (WAL, synchronous=FULL, busy timeout); Stmt owns one prepared
// statement. Errors throw SqliteError with the SQLite message (which never holds PHI:
// values are always bound, never spliced into SQL text).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace phrgate::sqlite {

class SqliteError : public std::runtime_error {
 public:
  SqliteError(const std::string& what, int code) : std::runtime_error(what), code_(code) {}
  int code() const { return code_; }
 private:
  int code_;
};

class Db {
 public:
  // Opens or creates `path`; read_only opens without write access.
  explicit Db(const std::string& path, bool read_only = false);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  void exec(const char* sql);  // one or more statements, no results
  int64_t last_insert_rowid() const;
  int changes() const;
  sqlite3* handle() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

class Stmt {
 public:
  Stmt(Db& db, const char* sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int index1, std::string_view text);  // SQLITE_TRANSIENT copy
  Stmt& bind_blob(int index1, std::string_view bytes);
  Stmt& bind(int index1, int64_t value);
  Stmt& bind(int index1, int value) { return bind(index1, static_cast<int64_t>(value)); }
  Stmt& bind(int index1, double value);
  Stmt& bind_null(int index1);

  bool step();   // true when a row is available; false when done
  void run();    // step() to completion, then reset()
  void reset();  // reset and clear bindings

  int64_t column_int(int index0) const;
  double column_double(int index0) const;
  std::string_view column_text(int index0) const;  // valid until the next step/reset
  bool column_is_null(int index0) const;

 private:
  Db& db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back by the destructor unless commit() was called.
class Transaction {
 public:
  explicit Transaction(Db& db);
  ~Transaction();
  void commit();
 private:
  Db& db_;
  bool done_ = false;
};

}  // namespace phrgate::sqlite
