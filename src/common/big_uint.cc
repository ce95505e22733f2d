#include "thanos/common/big_uint.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace thanos {

BigUInt::BigUInt(std::uint64_t value) {
  while (value != 0) {
    limbs_.push_back(static_cast<std::uint32_t>(value & 0xffffffffu));
    value >>= 32;
  }
}

void BigUInt::trim() {
  while (!limbs_.empty() && limbs_.back() == 0) limbs_.pop_back();
}

BigUInt& BigUInt::operator+=(const BigUInt& other) {
  if (limbs_.size() < other.limbs_.size()) limbs_.resize(other.limbs_.size(), 0);
  std::uint64_t carry = 0;
  for (std::size_t i = 0; i < limbs_.size(); ++i) {
    std::uint64_t sum = carry + limbs_[i] + (i < other.limbs_.size() ? other.limbs_[i] : 0);
    limbs_[i] = static_cast<std::uint32_t>(sum);
    carry = sum >> 32;
  }
  if (carry != 0) limbs_.push_back(static_cast<std::uint32_t>(carry));
  return *this;
}

BigUInt& BigUInt::operator*=(const BigUInt& other) {
  if (is_zero() || other.is_zero()) {
    limbs_.clear();
    return *this;
  }
  std::vector<std::uint32_t> out(limbs_.size() + other.limbs_.size(), 0);
  for (std::size_t i = 0; i < limbs_.size(); ++i) {
    std::uint64_t carry = 0;
    for (std::size_t j = 0; j < other.limbs_.size(); ++j) {
      std::uint64_t cur = out[i + j] + static_cast<std::uint64_t>(limbs_[i]) * other.limbs_[j] + carry;
      out[i + j] = static_cast<std::uint32_t>(cur);
      carry = cur >> 32;
    }
    std::size_t k = i + other.limbs_.size();
    while (carry != 0) {
      std::uint64_t cur = out[k] + carry;
      out[k] = static_cast<std::uint32_t>(cur);
      carry = cur >> 32;
      ++k;
    }
  }
  limbs_ = std::move(out);
  trim();
  return *this;
}

bool operator<(const BigUInt& a, const BigUInt& b) {
  if (a.limbs_.size() != b.limbs_.size()) return a.limbs_.size() < b.limbs_.size();
  for (std::size_t i = a.limbs_.size(); i-- > 0;) {
    if (a.limbs_[i] != b.limbs_[i]) return a.limbs_[i] < b.limbs_[i];
  }
  return false;
}

BigUInt BigUInt::pow(const BigUInt& base, unsigned exponent) {
  BigUInt result(1), b = base;
  while (exponent != 0) {
    if (exponent & 1u) result *= b;
    exponent >>= 1;
    if (exponent != 0) b *= b;
  }
  return result;
}

std::string BigUInt::to_string() const {
  if (is_zero()) return "0";
  // Repeated division by 10^9 on a copy.
  std::vector<std::uint32_t> n = limbs_;
  std::vector<std::uint32_t> chunks;
  while (!n.empty()) {
    std::uint64_t rem = 0;
    for (std::size_t i = n.size(); i-- > 0;) {
      std::uint64_t cur = (rem << 32) | n[i];
      n[i] = static_cast<std::uint32_t>(cur / 1000000000u);
      rem = cur % 1000000000u;
    }
    chunks.push_back(static_cast<std::uint32_t>(rem));
    while (!n.empty() && n.back() == 0) n.pop_back();
  }
  std::string out = std::to_string(chunks.back());
  char buf[16];
  for (std::size_t i = chunks.size() - 1; i-- > 0;) {
    std::snprintf(buf, sizeof(buf), "%09u", chunks[i]);
    out += buf;
  }
  return out;
}

double BigUInt::to_double() const {
  double v = 0;
  for (std::size_t i = limbs_.size(); i-- > 0;) v = v * 4294967296.0 + limbs_[i];
  return v;
}

std::string BigUInt::to_scientific() const {
  std::string digits = to_string();
  if (digits.size() <= 6) return digits;
  // Round to 4 significant digits from the exact decimal string.
  std::uint64_t lead = std::stoull(digits.substr(0, 5));
  lead = (lead + 5) / 10;
  int exponent = static_cast<int>(digits.size()) - 1;
  if (lead >= 10000) {
    lead /= 10;
    ++exponent;
  }
  std::string m = std::to_string(lead);
  return m.substr(0, 1) + "." + m.substr(1) + "e" + std::to_string(exponent);
}

}  // namespace thanos
