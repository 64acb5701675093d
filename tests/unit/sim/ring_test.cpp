// The simulator's FIFO ring (sim/cycle/ring.h): it keeps order through wrap-around and through
// growing while wrapped, which is when a port's arrivals are busiest.
#include <deque>
#include <vector>

#include <catch2/catch.hpp>

#include "sim/cycle/ring.h"

namespace rdasim::sim {
namespace {

TEST_CASE("a ring keeps first-in first-out order as a deque does, through wrap-around and growth", "[ring]") {
  Ring<int> ring;
  std::deque<int> expected;
  CHECK(ring.empty());
  int next = 0;
  // Push three, pop two, over and over: the head walks around the array, and the ring grows
  // while its items straddle the array's end.
  for (int round = 0; round < 200; ++round) {
    for (int k = 0; k < 3; ++k) {
      ring.push_back(next);
      expected.push_back(next);
      ++next;
    }
    for (int k = 0; k < 2; ++k) {
      REQUIRE(ring.front() == expected.front());
      ring.pop_front();
      expected.pop_front();
    }
    REQUIRE(ring.size() == expected.size());
    REQUIRE(ring.back() == expected.back());
    for (std::size_t i = 0; i < expected.size(); i += 7) REQUIRE(ring[i] == expected[i]);
  }
  while (!expected.empty()) {
    REQUIRE(ring.front() == expected.front());
    ring.pop_front();
    expected.pop_front();
  }
  CHECK(ring.empty());
}

TEST_CASE("a ring's items may be changed in place", "[ring]") {
  Ring<double> ring;
  for (int i = 0; i < 5; ++i) ring.push_back(i);
  ring.pop_front();
  ring[1] = 40;
  ring.back() = 50;
  CHECK(ring.front() == 1);
  CHECK(ring[1] == 40);
  CHECK(ring[3] == 50);
}

TEST_CASE("a copied or moved ring holds the same items, in its own room or on the heap", "[ring]") {
  // Ports are copied and moved as the simulator builds them: a ring must not point into the one
  // it was copied from, whether its items still fit inside it or have moved to the heap.
  for (const int count : {3, 11}) {
    Ring<int, 4> ring;
    for (int i = 0; i < count; ++i) ring.push_back(i);
    ring.pop_front();
    std::vector<Ring<int, 4>> copies{ring};
    copies.push_back(std::move(ring));
    copies.resize(20);  // moves both again
    for (int c = 0; c < 2; ++c) {
      auto& copy = copies[static_cast<std::size_t>(c)];
      REQUIRE(copy.size() == static_cast<std::size_t>(count - 1));
      for (int i = 1; i < count; ++i) CHECK(copy[static_cast<std::size_t>(i - 1)] == i);
      copy.push_back(100);
      CHECK(copy.back() == 100);
      CHECK(copy.front() == 1);
    }
    CHECK(copies[0][0] == copies[1][0]);
  }
}

}  // namespace
}  // namespace rdasim::sim
