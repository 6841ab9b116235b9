#pragma once

#include <cstdint>

namespace portcullis::bench {

/// Heap allocations made by this process so far (every global operator new counts).
std::uint64_t allocations() noexcept;

} // namespace portcullis::bench
