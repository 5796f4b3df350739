// CRC-32C (Castagnoli), the checksum of stored records. Hardware (SSE 4.2) where the CPU has it,
// a table otherwise; both give the same value (checked by the stability test).
#pragma once

#include <cstdint>
#include <string_view>

namespace debros::storage {

/// CRC-32C of `bytes` (initial value and final xor 0xFFFFFFFF, as iSCSI, ext4 and LevelDB use
/// it): crc32c("123456789") == 0xE3069283. Any thread.
uint32_t crc32c(std::string_view bytes);

/// The table-driven computation alone, for the test that both paths agree.
uint32_t crc32c_portable(std::string_view bytes);

} // namespace debros::storage
