#pragma once
// Arbitrary-precision unsigned integer, just large enough for counting search spaces.
//
// Why our own: a space with per-layer QKV choices has more than 2^64 members, and the engine
// core must build with libtorch alone (no GMP/Boost on the CUDA check machine). Counting needs
// only addition, multiplication and power, so a base-2^32 limb vector is enough.
#include <cstdint>
#include <string>
#include <vector>

namespace thanos {

class BigUInt {
 public:
  BigUInt() = default;
  BigUInt(std::uint64_t value);  // NOLINT(google-explicit-constructor): a count is a count

  BigUInt& operator+=(const BigUInt& other);
  BigUInt& operator*=(const BigUInt& other);
  friend BigUInt operator+(BigUInt a, const BigUInt& b) { return a += b; }
  friend BigUInt operator*(BigUInt a, const BigUInt& b) { return a *= b; }
  friend bool operator==(const BigUInt& a, const BigUInt& b) { return a.limbs_ == b.limbs_; }
  friend bool operator!=(const BigUInt& a, const BigUInt& b) { return !(a == b); }
  friend bool operator<(const BigUInt& a, const BigUInt& b);

  static BigUInt pow(const BigUInt& base, unsigned exponent);

  bool is_zero() const { return limbs_.empty(); }
  // Exact decimal digits, e.g. "417851315616384".
  std::string to_string() const;
  // Nearest double (for scientific display only; loses precision past 2^53).
  double to_double() const;
  // Short scientific form with 4 significant digits, e.g. "4.179e14".
  std::string to_scientific() const;

 private:
  void trim();
  std::vector<std::uint32_t> limbs_;  // little-endian base 2^32; empty means zero
};

}  // namespace thanos
