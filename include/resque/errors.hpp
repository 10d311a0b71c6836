#pragma once

#include <stdexcept>
#include <string>

/// The exceptions resque-cpp throws. Every failure is a `resque::Error`; absence (an empty
/// queue, a missing key) is an `std::optional` or `false`, never an exception.
namespace resque {

/// Base of every error resque-cpp throws. The message names what was wrong and where.
class Error : public std::runtime_error {
   public:
    using std::runtime_error::runtime_error;
};

/// Anything that went wrong talking to Redis.
class RedisError : public Error {
   public:
    using Error::Error;
};

/// Redis could not be reached, or the connection dropped mid-command.
class ConnectionError : public RedisError {
   public:
    using RedisError::RedisError;
};

/// Redis did not answer within the configured timeout.
class TimeoutError : public RedisError {
   public:
    using RedisError::RedisError;
};

/// Redis answered with an error reply (`-ERR ...`, `-WRONGTYPE ...`).
class ReplyError : public RedisError {
   public:
    using RedisError::RedisError;
};

/// Redis answered with a reply of a type the caller did not expect.
class ProtocolError : public RedisError {
   public:
    using RedisError::RedisError;
};

/// A job payload that is not valid Resque JSON (`{"class": String, "args": Array}`), or a
/// job that cannot be encoded (invalid UTF-8, NaN, too large).
class PayloadError : public Error {
   public:
    using Error::Error;
};

/// A configuration value (URL, jobs file, option) that cannot be used.
class ConfigError : public Error {
   public:
    using Error::Error;
};

/// A command-line usage mistake.
class UsageError : public Error {
   public:
    using Error::Error;
};

}  // namespace resque
