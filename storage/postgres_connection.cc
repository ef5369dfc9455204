#include "storage/postgres_connection.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace clientreg::storage {
namespace {

absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// Type OIDs of the parameter types (pg_type.dat); stable across PostgreSQL versions and compatible engines.
Oid OidOf(PgParam::Type type) {
  switch (type) {
    case PgParam::Type::kBytea:
      return 17;
    case PgParam::Type::kInt8:
      return 20;
    case PgParam::Type::kInt4:
      return 23;
    case PgParam::Type::kBool:
      return 16;
  }
  return 0;
}

std::string BigEndian(uint64_t v, int bytes) {
  std::string out(static_cast<std::size_t>(bytes), '\0');
  for (int i = bytes - 1; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

uint64_t FromBigEndian(const char* data, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(data[i]);
  return v;
}

// What SQLSTATE `state` means to the store's callers. The one mapping from PostgreSQL errors to absl::Status.
// `lost`: the connection is gone or must not be reused.
absl::StatusCode CodeOf(std::string_view state, bool& lost) {
  if (state == "23505") return absl::StatusCode::kAlreadyExists;  // unique_violation
  // serialization_failure, deadlock_detected: a concurrent transaction won; retrying may succeed.
  if (state == "40001" || state == "40P01") return absl::StatusCode::kAborted;
  const std::string_view klass = state.substr(0, std::min<std::size_t>(2, state.size()));
  // connection_exception; admin_shutdown, crash_shutdown, cannot_connect_now (a restart in progress).
  if (klass == "08" || state == "57P01" || state == "57P02" || state == "57P03") {
    lost = true;
    return absl::StatusCode::kUnavailable;
  }
  // query_canceled (statement_timeout), insufficient_resources, system_error (e.g. disk full or I/O error): the
  // server could not do it now, and a write was not acknowledged.
  if (state == "57014" || klass == "53" || klass == "58") return absl::StatusCode::kUnavailable;
  return absl::StatusCode::kInternal;
}

}  // namespace

PgParam PgParam::Int64(int64_t v) { return {Type::kInt8, BigEndian(static_cast<uint64_t>(v), 8)}; }
PgParam PgParam::Int32(int32_t v) {
  return {Type::kInt4, BigEndian(static_cast<uint64_t>(static_cast<uint32_t>(v)), 4)};
}

PgResult::PgResult(pg_result* result) : result_(result) {}
PgResult::~PgResult() {
  if (result_ != nullptr) PQclear(result_);
}
int PgResult::rows() const { return PQntuples(result_); }
int64_t PgResult::affected() const {
  const char* tuples = PQcmdTuples(result_);
  return tuples[0] == '\0' ? 0 : std::strtoll(tuples, nullptr, 10);
}
bool PgResult::IsNull(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }
std::string PgResult::Bytes(int row, int column) const {
  return std::string(PQgetvalue(result_, row, column), static_cast<std::size_t>(PQgetlength(result_, row, column)));
}
absl::StatusOr<int64_t> PgResult::Int64(int row, int column) const {
  if (PQgetlength(result_, row, column) != 8) return absl::DataLossError("a bigint column is not 8 bytes");
  return static_cast<int64_t>(FromBigEndian(PQgetvalue(result_, row, column), 8));
}
absl::StatusOr<int32_t> PgResult::Int32(int row, int column) const {
  if (PQgetlength(result_, row, column) != 4) return absl::DataLossError("an integer column is not 4 bytes");
  return static_cast<int32_t>(static_cast<uint32_t>(FromBigEndian(PQgetvalue(result_, row, column), 4)));
}
absl::StatusOr<bool> PgResult::Bool(int row, int column) const {
  if (PQgetlength(result_, row, column) != 1) return absl::DataLossError("a boolean column is not 1 byte");
  return PQgetvalue(result_, row, column)[0] != 0;
}

absl::StatusOr<std::unique_ptr<PgConnection>> PgConnection::Connect(const std::string& dsn,
                                                                    std::chrono::milliseconds connect_timeout,
                                                                    std::chrono::milliseconds statement_timeout) {
  // libpq takes whole seconds, and treats 1 as 2.
  const std::string connect_seconds = std::to_string(std::max<int64_t>(2, (connect_timeout.count() + 999) / 1000));
  // client_min_messages: notices (e.g. "already exists, skipping" from a migration) would go to stderr.
  const std::string options =
      absl::StrCat("-c statement_timeout=", statement_timeout.count(), " -c client_min_messages=warning");
  // After the dsn (expand_dbname), so these override what it says.
  const char* const keywords[] = {"dbname", "connect_timeout", "options", "application_name", nullptr};
  const char* const values[] = {dsn.c_str(), connect_seconds.c_str(), options.c_str(), "clientreg", nullptr};
  pg_conn* conn = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (conn == nullptr) return absl::UnavailableError("cannot allocate a PostgreSQL connection");
  std::unique_ptr<PgConnection> connection(new PgConnection(conn));
  if (PQstatus(conn) != CONNECTION_OK) {
    // The message names host and port, never the password.
    return absl::UnavailableError(absl::StrCat("cannot connect to PostgreSQL: ", PQerrorMessage(conn)));
  }
  return connection;
}

PgConnection::~PgConnection() { PQfinish(conn_); }

bool PgConnection::healthy() const {
  // A connection left inside a transaction (a failed ROLLBACK) must not serve the next lease.
  return !broken_ && PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) == PQTRANS_IDLE;
}

bool PgConnection::StillOpen() {
  if (!healthy()) return false;
  // An idle connection has nothing to hear (the store never LISTENs): a readable socket means the server has closed
  // it or is closing it (a FATAL, then the close: a shutdown, a restart, an idle timeout). Polled rather than read
  // with PQconsumeInput, which would take a FATAL that arrives before the close as a notice and keep the connection.
  pollfd socket{.fd = PQsocket(conn_), .events = POLLIN, .revents = 0};
  if (poll(&socket, 1, /*timeout=*/0) != 0) broken_ = true;
  return healthy();
}

void PgConnection::StartUnitOfWork() {
  statements_ = 0;
  lost_at_statement_ = 0;
}

absl::Status PgConnection::Check(pg_result* result, std::string_view context) {
  ++statements_;
  const ExecStatusType status = result != nullptr ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return absl::OkStatus();
  bool lost = PQstatus(conn_) != CONNECTION_OK;
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  // Only the primary message: DETAIL can quote key values, and digests of secrets are keys here.
  const char* primary = result != nullptr ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  absl::StatusCode code = absl::StatusCode::kUnavailable;
  if (!lost && state != nullptr) code = CodeOf(state, lost);
  if (lost) {
    broken_ = true;
    if (lost_at_statement_ == 0) lost_at_statement_ = statements_;
  }
  std::string message = primary != nullptr ? primary : PQerrorMessage(conn_);
  while (!message.empty() && message.back() == '\n') message.pop_back();
  return absl::Status(code, absl::StrCat(ToAbsl(context), ": ", message, state != nullptr ? " (SQLSTATE " : "",
                                         state != nullptr ? state : "", state != nullptr ? ")" : ""));
}

absl::Status PgConnection::Exec(std::string_view sql, std::string_view context) {
  const PgResult result(PQexec(conn_, std::string(sql).c_str()));
  return Check(result.result_, context);
}

namespace {

// The parameter arrays libpq takes, pointing into `params`.
struct ParamArrays {
  explicit ParamArrays(const std::vector<PgParam>& params) {
    for (const PgParam& param : params) {
      types.push_back(OidOf(param.type));
      values.push_back(param.value.data());
      lengths.push_back(static_cast<int>(param.value.size()));
      formats.push_back(1);
    }
  }
  std::vector<Oid> types;
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
};

}  // namespace

absl::StatusOr<PgResult> PgConnection::Run(const PgStatement& statement, const std::vector<PgParam>& params,
                                           std::string_view context) {
  const ParamArrays arrays(params);
  const int count = static_cast<int>(params.size());
  if (std::find(prepared_.begin(), prepared_.end(), statement.name) == prepared_.end()) {
    const PgResult prepared(PQprepare(conn_, statement.name, statement.sql, count, arrays.types.data()));
    if (absl::Status status = Check(prepared.result_, context); !status.ok()) return status;
    prepared_.emplace_back(statement.name);
  }
  PgResult result(PQexecPrepared(conn_, statement.name, count, arrays.values.data(), arrays.lengths.data(),
                                 arrays.formats.data(), /*resultFormat=*/1));
  if (absl::Status status = Check(result.result_, context); !status.ok()) return status;
  return result;
}

absl::StatusOr<PgResult> PgConnection::RunOnce(std::string_view sql, const std::vector<PgParam>& params,
                                               std::string_view context) {
  const ParamArrays arrays(params);
  PgResult result(PQexecParams(conn_, std::string(sql).c_str(), static_cast<int>(params.size()), arrays.types.data(),
                               arrays.values.data(), arrays.lengths.data(), arrays.formats.data(),
                               /*resultFormat=*/1));
  if (absl::Status status = Check(result.result_, context); !status.ok()) return status;
  return result;
}

PgPool::Lease::~Lease() {
  if (connection_ != nullptr) pool_->Release(std::move(connection_));
}

absl::StatusOr<PgPool::Lease> PgPool::Acquire() {
  for (;;) {
    std::unique_ptr<PgConnection> idle;
    {
      absl::MutexLock lock(&mu_);
      const auto available = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !idle_.empty() || open_ < size_; };
      if (!mu_.AwaitWithTimeout(absl::Condition(&available), absl::FromChrono(connect_timeout_))) {
        return absl::ResourceExhaustedError(
            absl::StrCat("all ", size_, " PostgreSQL connections stayed busy for ", connect_timeout_.count(), " ms"));
      }
      if (idle_.empty()) {
        ++open_;
        break;
      }
      idle = std::move(idle_.back());
      idle_.pop_back();
    }
    // Checked as it is taken, outside the lock: after a server restart every idle connection is closed, and
    // StillOpen finds that out for one non-blocking read, where a statement would fail first. A round trip
    // ("SELECT 1") would also catch a connection lost silently, but would cost every operation a round trip;
    // that rarer case is left to the caller's retry of a unit of work whose first statement found the connection
    // lost (PgConnection::LostOnFirstStatement).
    if (idle->StillOpen()) {
      idle->StartUnitOfWork();
      return Lease(this, std::move(idle));
    }
    Drop(std::move(idle));
  }
  // Outside the lock: connecting takes a round trip or a timeout, and other leases come and go meanwhile.
  absl::StatusOr<std::unique_ptr<PgConnection>> connection =
      PgConnection::Connect(dsn_, connect_timeout_, statement_timeout_);
  if (!connection.ok()) {
    absl::MutexLock lock(&mu_);
    --open_;
    return connection.status();
  }
  return Lease(this, *std::move(connection));
}

void PgPool::Release(std::unique_ptr<PgConnection> connection) {
  if (!connection->healthy()) {
    // Dropped: the next Acquire connects anew, so the pool heals once the server is back.
    Drop(std::move(connection));
    return;
  }
  absl::MutexLock lock(&mu_);
  idle_.push_back(std::move(connection));
}

void PgPool::Drop(std::unique_ptr<PgConnection> connection) {
  connection.reset();
  absl::MutexLock lock(&mu_);
  --open_;
}

}  // namespace clientreg::storage
