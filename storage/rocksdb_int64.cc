#include "storage/rocksdb_int64.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "storage/rocksdb_client_store.h"

namespace clientreg::storage {

std::string EncodeInt64(int64_t value) {
  const auto bits = static_cast<uint64_t>(value);
  std::string encoded(sizeof(bits), '\0');
  for (std::size_t i = 0; i < sizeof(bits); ++i) {
    encoded[i] = static_cast<char>((bits >> (8 * (sizeof(bits) - 1 - i))) & 0xff);
  }
  return encoded;
}

std::optional<int64_t> DecodeInt64(std::string_view bytes) {
  uint64_t bits = 0;
  if (bytes.size() != sizeof(bits)) return std::nullopt;
  for (const char byte : bytes) bits = (bits << 8) | static_cast<unsigned char>(byte);
  return static_cast<int64_t>(bits);
}

namespace {

constexpr uint64_t kSignBit = uint64_t{1} << 63;

}  // namespace

std::string EncodeOrderedInt64(int64_t value) {
  return EncodeInt64(static_cast<int64_t>(static_cast<uint64_t>(value) ^ kSignBit));
}

std::optional<int64_t> DecodeOrderedInt64(std::string_view bytes) {
  const std::optional<int64_t> flipped = DecodeInt64(bytes);
  if (!flipped.has_value()) return std::nullopt;
  return static_cast<int64_t>(static_cast<uint64_t>(*flipped) ^ kSignBit);
}

bool Int64AddOperator::Merge(const rocksdb::Slice& /*key*/, const rocksdb::Slice* existing_value,
                             const rocksdb::Slice& value, std::string* new_value, rocksdb::Logger* /*logger*/) const {
  int64_t existing = 0;
  if (existing_value != nullptr) {
    const std::optional<int64_t> decoded =
        DecodeInt64(std::string_view(existing_value->data(), existing_value->size()));
    if (!decoded.has_value()) return false;
    existing = *decoded;
  }
  const std::optional<int64_t> delta = DecodeInt64(std::string_view(value.data(), value.size()));
  if (!delta.has_value()) return false;
  // In unsigned arithmetic, where overflow wraps instead of being undefined; a count never gets near it.
  *new_value = EncodeInt64(static_cast<int64_t>(static_cast<uint64_t>(existing) + static_cast<uint64_t>(*delta)));
  return true;
}

const char* Int64AddOperator::Name() const { return kInt64AddMergeOperatorName; }

std::shared_ptr<rocksdb::MergeOperator> NewInt64AddMergeOperator() { return std::make_shared<Int64AddOperator>(); }

}  // namespace clientreg::storage
