#pragma once

#include <string>
#include <utility>

#include <tl/expected.hpp>

#include "core/error.h"

namespace keybridge::core {

// Fallible functions that cross a module boundary return Result<T>. It is an alias so that the
// move to std::expected (C++23) is a one-line change.
template <typename T>
using Result = tl::expected<T, Error>;

using Status = Result<void>;

[[nodiscard]] inline tl::unexpected<Error> fail(ErrorCode code, std::string detail) {
    return tl::unexpected<Error>(Error{code, std::move(detail)});
}

[[nodiscard]] inline tl::unexpected<Error> fail(Error error) {
    return tl::unexpected<Error>(std::move(error));
}

}  // namespace keybridge::core

// Evaluates a Result expression; on failure returns its error from the enclosing function.
#define KEYBRIDGE_TRY_STATUS(expr)                                                          \
    do {                                                                                    \
        auto keybridge_try_result_ = (expr);                                                \
        if (!keybridge_try_result_) return ::tl::unexpected(keybridge_try_result_.error()); \
    } while (0)
