#ifndef CLIENTREG_STORAGE_ROCKSDB_INT64_H_
#define CLIENTREG_STORAGE_ROCKSDB_INT64_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "rocksdb/merge_operator.h"
#include "rocksdb/slice.h"

namespace clientreg::storage {

// Signed 64-bit integers as the store keeps them in RocksDB values (last-use times, client counts): exactly 8
// bytes, big-endian two's complement, so the bytes read the same on every platform and in every tool.
std::string EncodeInt64(int64_t value);

// The integer that EncodeInt64 encoded as `bytes`, or nullopt unless `bytes` is exactly 8 bytes long.
std::optional<int64_t> DecodeInt64(std::string_view bytes);

// Signed 64-bit integers as the store keeps them at the start of ordered keys (the lifecycle indexes' times):
// exactly 8 bytes, big-endian, with the sign bit flipped, so that comparing the bytes compares the integers, negative
// ones included (EncodeInt64's two's complement would put -1 after every positive value).
std::string EncodeOrderedInt64(int64_t value);

// The integer that EncodeOrderedInt64 encoded as `bytes`, or nullopt unless `bytes` is exactly 8 bytes long.
std::optional<int64_t> DecodeOrderedInt64(std::string_view bytes);

// A merge operator that adds EncodeInt64 values: each operand is a signed delta, added to the existing value (0 when
// the key is absent), wrapping around on overflow. A value or operand that is not 8 bytes fails the merge, which
// RocksDB reports as Corruption. Associative, so RocksDB may combine operands in any grouping, in flushes and
// compactions as well as in reads; that lets concurrent writers change one count without reading it first.
// NewInt64AddMergeOperator (rocksdb_client_store.h) returns one; its name is kInt64AddMergeOperatorName.
class Int64AddOperator final : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice& key, const rocksdb::Slice* existing_value, const rocksdb::Slice& value,
             std::string* new_value, rocksdb::Logger* logger) const override;
  const char* Name() const override;
};

}  // namespace clientreg::storage

#endif  // CLIENTREG_STORAGE_ROCKSDB_INT64_H_
