#include "middleware/keys/key_hash.hpp"

#include "middleware/keys/token.hpp"

#include <openssl/evp.h>

#include <cstring>
#include <stdexcept>

namespace portcullis::keys {

namespace {

constexpr std::uint64_t kC1 = 0x87c37b91114253d5ULL;
constexpr std::uint64_t kC2 = 0x4cf5ad432745937fULL;

constexpr std::uint32_t rotl32(std::uint32_t x, int r) {
    return (x << r) | (x >> (32 - r));
}

constexpr std::uint64_t rotl64(std::uint64_t x, int r) {
    return (x << r) | (x >> (64 - r));
}

constexpr std::uint64_t fmix64(std::uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

// Little-endian loads, whatever the host byte order.
std::uint32_t load_le32(const unsigned char* p) {
    return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
           (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

std::uint64_t load_le64(const unsigned char* p) {
    return static_cast<std::uint64_t>(load_le32(p)) |
           (static_cast<std::uint64_t>(load_le32(p + 4)) << 32);
}

std::string to_hex(const unsigned char* bytes, std::size_t size) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(size * 2);
    for (std::size_t i = 0; i < size; ++i) {
        out.push_back(kDigits[bytes[i] >> 4]);
        out.push_back(kDigits[bytes[i] & 0x0F]);
    }
    return out;
}

// Big-endian hex of a 64-bit value, 16 chars.
std::string hex64(std::uint64_t v) {
    unsigned char bytes[8];
    for (int i = 0; i < 8; ++i) {
        bytes[i] = static_cast<unsigned char>(v >> (56 - 8 * i));
    }
    return to_hex(bytes, sizeof bytes);
}

} // namespace

std::optional<HashAlgorithm> parse_hash_algorithm(std::string_view name) {
    if (name.empty() || name == "murmur32") {
        return HashAlgorithm::murmur32;
    }
    if (name == "murmur64") {
        return HashAlgorithm::murmur64;
    }
    if (name == "murmur128") {
        return HashAlgorithm::murmur128;
    }
    if (name == "sha256") {
        return HashAlgorithm::sha256;
    }
    return std::nullopt;
}

std::string_view hash_algorithm_name(HashAlgorithm algorithm) {
    switch (algorithm) {
    case HashAlgorithm::murmur32:
        return "murmur32";
    case HashAlgorithm::murmur64:
        return "murmur64";
    case HashAlgorithm::murmur128:
        return "murmur128";
    case HashAlgorithm::sha256:
        return "sha256";
    }
    return "murmur32";
}

std::array<std::uint64_t, 2> murmur3_x64_128(std::string_view data, std::uint32_t seed) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
    const std::size_t len = data.size();
    const std::size_t nblocks = len / 16;
    std::uint64_t h1 = seed;
    std::uint64_t h2 = seed;

    for (std::size_t i = 0; i < nblocks; ++i) {
        std::uint64_t k1 = load_le64(bytes + i * 16);
        std::uint64_t k2 = load_le64(bytes + i * 16 + 8);

        k1 *= kC1;
        k1 = rotl64(k1, 31);
        k1 *= kC2;
        h1 ^= k1;
        h1 = rotl64(h1, 27);
        h1 += h2;
        h1 = h1 * 5 + 0x52dce729;

        k2 *= kC2;
        k2 = rotl64(k2, 33);
        k2 *= kC1;
        h2 ^= k2;
        h2 = rotl64(h2, 31);
        h2 += h1;
        h2 = h2 * 5 + 0x38495ab5;
    }

    // Tail: bytes 0-7 go to k1, 8-14 to k2, little-endian.
    const unsigned char* tail = bytes + nblocks * 16;
    const std::size_t rest = len & 15;
    std::uint64_t k1 = 0;
    std::uint64_t k2 = 0;
    for (std::size_t i = rest; i > 8; --i) {
        k2 ^= static_cast<std::uint64_t>(tail[i - 1]) << (8 * (i - 9));
    }
    if (rest > 8) {
        k2 *= kC2;
        k2 = rotl64(k2, 33);
        k2 *= kC1;
        h2 ^= k2;
    }
    for (std::size_t i = rest < 8 ? rest : 8; i > 0; --i) {
        k1 ^= static_cast<std::uint64_t>(tail[i - 1]) << (8 * (i - 1));
    }
    if (rest > 0) {
        k1 *= kC1;
        k1 = rotl64(k1, 31);
        k1 *= kC2;
        h1 ^= k1;
    }

    h1 ^= static_cast<std::uint64_t>(len);
    h2 ^= static_cast<std::uint64_t>(len);
    h1 += h2;
    h2 += h1;
    h1 = fmix64(h1);
    h2 = fmix64(h2);
    h1 += h2;
    h2 += h1;
    return {h1, h2};
}

std::string murmur32_tyk(std::string_view data) {
    constexpr std::uint32_t c1 = 0xcc9e2d51U;
    constexpr std::uint32_t c2 = 0x1b873593U;
    const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
    std::uint32_t h1 = 0;
    for (std::size_t i = 0; i + 4 <= data.size(); i += 4) {
        std::uint32_t k1 = load_le32(bytes + i);
        k1 *= c1;
        k1 = rotl32(k1, 15);
        k1 *= c2;
        h1 ^= k1;
        h1 = rotl32(h1, 13);
        h1 = h1 * 5 + 0xe6546b64U;
    }
    // Deliberately no tail, length or fmix step: that is the fork's (and so Tyk's) output.
    const unsigned char out[4] = {
        static_cast<unsigned char>(h1 >> 24),
        static_cast<unsigned char>(h1 >> 16),
        static_cast<unsigned char>(h1 >> 8),
        static_cast<unsigned char>(h1),
    };
    return to_hex(out, sizeof out);
}

std::string murmur64_hex(std::string_view data) {
    return hex64(murmur3_x64_128(data)[0]);
}

std::string murmur128_hex(std::string_view data) {
    const auto h = murmur3_x64_128(data);
    return hex64(h[0]) + hex64(h[1]);
}

std::string sha256_hex(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("EVP_Digest(sha256) failed");
    }
    return to_hex(digest, size);
}

std::string hash_with(HashAlgorithm algorithm, std::string_view data) {
    switch (algorithm) {
    case HashAlgorithm::murmur32:
        return murmur32_tyk(data);
    case HashAlgorithm::murmur64:
        return murmur64_hex(data);
    case HashAlgorithm::murmur128:
        return murmur128_hex(data);
    case HashAlgorithm::sha256:
        return sha256_hex(data);
    }
    return murmur32_tyk(data);
}

std::string hash_str(std::string_view data, std::string_view algorithm) {
    if (algorithm.empty()) {
        return hash_key(data);
    }
    return hash_with(parse_hash_algorithm(algorithm).value_or(HashAlgorithm::murmur32), data);
}

std::string hash_key(std::string_view token) {
    const TokenInfo info = parse_token(token);
    return hash_with(parse_hash_algorithm(info.hash_algorithm).value_or(HashAlgorithm::murmur32),
                     token);
}

} // namespace portcullis::keys
