#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdlib>
#include <vector>

#include "core/error.h"
#include "core/worker.h"

using namespace rdasim::core;

TEST_CASE("share_out deals the most work first onto the least loaded share", "[core][worker]") {
  // 7, 5, 4, 3, 1 over two: 7 | 5, then 4 -> the 5 share (9), 3 -> the 7 share (10), 1 -> 9.
  const auto shares = share_out({{3, 0}, {7, 1}, {1, 2}, {5, 3}, {4, 4}}, 2);
  REQUIRE(shares.size() == 2);
  CHECK(shares[0] == std::vector<std::size_t>{0, 1});
  CHECK(shares[1] == std::vector<std::size_t>{2, 3, 4});
  CHECK(share_out({}, 0).size() == 1);
}

TEST_CASE("a worker sends back its result, its input error as one, and its death by signal", "[core][worker]") {
  CHECK(Worker([] { return Json{{"answer", 42}}; }).wait().at("answer") == 42);
  CHECK_THROWS_AS(Worker([]() -> Json { throw InputError("bad input"); }).wait(), InputError);
  CHECK_THROWS_WITH(Worker([]() -> Json { throw InputError("bad input"); }).wait(),
                    Catch::Matchers::Contains("bad input"));
  CHECK_THROWS_AS(Worker([]() -> Json { std::abort(); }).wait(), WorkerDied);
}
