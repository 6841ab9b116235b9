#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portcullis::keys {

/// Key hash algorithms Tyk knows (`hash_key_function`, the `h` field of custom-key tokens,
/// `basic_auth_data.hash_type`). Names are case-sensitive.
enum class HashAlgorithm { murmur32, murmur64, murmur128, sha256 };

/// Tyk's hashFunction name lookup: "murmur32", "murmur64", "murmur128", "sha256", and the empty
/// name, which means murmur32 (the legacy default). Anything else (including "MURMUR64" or
/// "murmur3") is unknown: nullopt. Note GenerateToken gives "" its own meaning (legacy tokens).
std::optional<HashAlgorithm> parse_hash_algorithm(std::string_view name);

/// The canonical Tyk name of `algorithm` ("murmur32", ...).
std::string_view hash_algorithm_name(HashAlgorithm algorithm);

/// MurmurHash3_x64_128 in its standard (reference) form: {h1, h2}, both seeded with `seed`.
std::array<std::uint64_t, 2> murmur3_x64_128(std::string_view data, std::uint32_t seed = 0);

/// Tyk's murmur32, which is NOT MurmurHash3_x86_32: the pinned TykTechnologies/murmur3 fork
/// returns the running state after mixing the whole 4-byte little-endian blocks (seed 0); the 1-3
/// tail bytes, the length and the fmix finalisation are skipped. So "key" + up to 3 more bytes
/// hashes like "key" when len(key) % 4 == 0, and any input shorter than 4 bytes is "00000000".
/// Lowercase hex of the 32-bit value, 8 chars.
std::string murmur32_tyk(std::string_view data);

/// Tyk's murmur64: h1 of MurmurHash3_x64_128, seed 0, as 16 lowercase hex chars (big-endian).
std::string murmur64_hex(std::string_view data);

/// Tyk's murmur128: h1 then h2 of MurmurHash3_x64_128, seed 0, each big-endian; 32 hex chars.
std::string murmur128_hex(std::string_view data);

/// SHA-256 as 64 lowercase hex chars.
std::string sha256_hex(std::string_view data);

/// Hashes `data` with `algorithm` (Tyk's hex.EncodeToString(h.Sum(nil))).
std::string hash_with(HashAlgorithm algorithm, std::string_view data);

/// Tyk's HashStr(in, algo): a non-empty `algorithm` names the function, an empty one means "read
/// it from the token" (see hash_key). An unknown name falls back to murmur32 (Tyk master logs an
/// error and uses murmur32; some older releases used murmur64).
std::string hash_str(std::string_view data, std::string_view algorithm);

/// Tyk's HashKey/HashStr(token): the algorithm comes from the token itself, never from
/// `hash_key_function`. A token starting with "ey" that decodes (standard base64, padded) to a
/// JSON object with a string "h" uses that algorithm; every other token, and an empty or
/// non-string "h", uses murmur32. An unknown "h" also gives murmur32 (Tyk master's fallback).
std::string hash_key(std::string_view token);

} // namespace portcullis::keys
