#ifndef CLIENTREG_STORAGE_POSTGRES_CONNECTION_H_
#define CLIENTREG_STORAGE_POSTGRES_CONNECTION_H_

// libpq, wrapped: RAII connections and results, binary parameters and results, prepared statements per connection,
// a bounded pool, and the one place where a PostgreSQL error becomes an absl::Status. Only storage/postgres_*.cc
// include this header; libpq-fe.h stays in postgres_connection.cc.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

struct pg_conn;
struct pg_result;

namespace clientreg::storage {

// One parameter of a statement, sent in binary format (so bytea needs no escaping and an id may hold any byte).
struct PgParam {
  enum class Type { kBytea, kInt8, kInt4, kBool };
  Type type;
  // The value in PostgreSQL's binary format (integers big-endian).
  std::string value;

  static PgParam Bytes(std::string_view bytes) { return {Type::kBytea, std::string(bytes)}; }
  static PgParam Int64(int64_t v);
  static PgParam Int32(int32_t v);
  static PgParam Bool(bool v) { return {Type::kBool, std::string(1, v ? '\1' : '\0')}; }
};

// A statement prepared once per connection, under `name`, at its first use there. Parameter types come from the
// PgParams of that first use, and must be the same at every use.
struct PgStatement {
  const char* name;
  const char* sql;
};

// A result in binary format. Accessors check the column's size, and say DataLoss if it is not what they read.
class PgResult {
 public:
  explicit PgResult(pg_result* result);
  ~PgResult();
  PgResult(PgResult&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
  PgResult& operator=(PgResult&&) = delete;
  PgResult(const PgResult&) = delete;

  int rows() const;
  // Rows changed by an INSERT, UPDATE or DELETE.
  int64_t affected() const;
  bool IsNull(int row, int column) const;
  std::string Bytes(int row, int column) const;
  [[nodiscard]] absl::StatusOr<int64_t> Int64(int row, int column) const;
  [[nodiscard]] absl::StatusOr<int32_t> Int32(int row, int column) const;
  [[nodiscard]] absl::StatusOr<bool> Bool(int row, int column) const;

 private:
  friend class PgConnection;
  pg_result* result_;
};

// One libpq connection, used by one thread at a time. Broken (and then dropped by its pool) once the server is
// unreachable or a transaction is left in an unknown state.
class PgConnection {
 public:
  // Connects to `dsn` (a libpq connection string or URI); `statement_timeout` bounds each statement on the server.
  // Unavailable if the server cannot be reached or refuses the connection.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<PgConnection>> Connect(
      const std::string& dsn, std::chrono::milliseconds connect_timeout, std::chrono::milliseconds statement_timeout);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs `sql` (no parameters, text results; BEGIN, COMMIT, DDL). `context` names it in errors.
  [[nodiscard]] absl::Status Exec(std::string_view sql, std::string_view context);
  // Runs a prepared statement with binary parameters and results.
  [[nodiscard]] absl::StatusOr<PgResult> Run(const PgStatement& statement, const std::vector<PgParam>& params,
                                             std::string_view context);
  // Runs `sql` unprepared with binary parameters and results (statements run once, e.g. by migrations).
  [[nodiscard]] absl::StatusOr<PgResult> RunOnce(std::string_view sql, const std::vector<PgParam>& params,
                                                 std::string_view context);

  // False once the connection is lost, or marked broken; a pool drops such a connection rather than reuse it.
  bool healthy() const;
  void MarkBroken() { broken_ = true; }

  // healthy(), and for an idle connection, that the server has sent nothing since (one poll of the socket, no round
  // trip): notices that the server closed it (a shutdown or restart) before a statement fails on it. A connection
  // lost silently still passes; LostOnFirstStatement covers that.
  bool StillOpen();

  // Starts counting the statements of one unit of work (one lease of the connection).
  void StartUnitOfWork();
  // Whether the connection was found lost (CONNECTION_BAD, or SQLSTATE class 08 or 57P01-57P03) by the first
  // statement of the unit of work. Then nothing of the unit was done, provided that statement was a BEGIN or a read
  // (never a COMMIT, nor a write outside a transaction, which commits by itself): the unit may run again on another
  // connection.
  bool LostOnFirstStatement() const { return lost_at_statement_ == 1; }

 private:
  explicit PgConnection(pg_conn* conn) : conn_(conn) {}
  // What a result says, as a Status; OK for a command or rows. Marks the connection broken when it is lost.
  absl::Status Check(pg_result* result, std::string_view context);

  pg_conn* conn_;
  bool broken_ = false;
  // Statements run in the current unit of work, and which of them found the connection lost (0: none).
  int statements_ = 0;
  int lost_at_statement_ = 0;
  std::vector<std::string> prepared_;
};

// A bounded pool of connections to one database, made on demand and dropped when broken: after a lost server, the
// next Acquire connects anew.
class PgPool {
 public:
  class Lease {
   public:
    Lease(PgPool* pool, std::unique_ptr<PgConnection> connection) : pool_(pool), connection_(std::move(connection)) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    PgConnection* operator->() const { return connection_.get(); }
    PgConnection& operator*() const { return *connection_; }

   private:
    PgPool* pool_;
    std::unique_ptr<PgConnection> connection_;
  };

  PgPool(std::string dsn, std::size_t size, std::chrono::milliseconds connect_timeout,
         std::chrono::milliseconds statement_timeout)
      : dsn_(std::move(dsn)),
        size_(size == 0 ? 1 : size),
        connect_timeout_(connect_timeout),
        statement_timeout_(statement_timeout) {}
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  // An idle connection that is still open (StillOpen; a closed one is dropped), or a new one while fewer than `size`
  // exist, with a new unit of work started on it. Waits up to the connect timeout for one to come back
  // (ResourceExhausted then, so that a caller holding one connection never waits forever for another); Unavailable
  // if connecting fails.
  [[nodiscard]] absl::StatusOr<Lease> Acquire();

 private:
  void Release(std::unique_ptr<PgConnection> connection);
  // Closes a connection that is not coming back to the pool, making room for a new one.
  void Drop(std::unique_ptr<PgConnection> connection);

  const std::string dsn_;
  const std::size_t size_;
  const std::chrono::milliseconds connect_timeout_;
  const std::chrono::milliseconds statement_timeout_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<PgConnection>> idle_ ABSL_GUARDED_BY(mu_);
  // Connections that exist, idle or leased, plus those being made.
  std::size_t open_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace clientreg::storage

#endif  // CLIENTREG_STORAGE_POSTGRES_CONNECTION_H_
