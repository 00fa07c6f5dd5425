/* util.h - small shared helpers: clock, time formats, randomness, hashes. */
#ifndef PARLEY_UTIL_H
#define PARLEY_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Wall-clock milliseconds since the Unix epoch. */
int64_t util_now_ms(void);

/** Monotonic microseconds (for durations). */
uint64_t util_mono_us(void);

/** Format ms since epoch as "2026-11-21T01:40:54.123Z" (25 bytes + NUL). */
void util_iso8601(char buf[32], int64_t ms);

/**
 * Parse an RFC 3339 timestamp ("2026-11-21T01:40:54Z", optional fraction,
 * "Z" or "+hh:mm") or a date "2026-11-21" (midnight UTC). 0 or EINVAL.
 */
int util_parse_time(int64_t *msp, const char *s);

/** Cryptographically random bytes. 0 or EIO. */
int util_random(uint8_t *buf, size_t n);

/** Lower-case hex SHA-256 of data into out[65]. */
void util_sha256_hex(char out[65], const void *data, size_t n);

/** HMAC-SHA256 of data under key into mac[32]. */
void util_hmac_sha256(uint8_t mac[32], const void *key, size_t keylen,
		      const void *data, size_t n);

/** Lower-case hex of buf into out (2n+1 bytes). */
void util_hex(char *out, const uint8_t *buf, size_t n);

/** Constant-time comparison of two equal-length buffers. */
bool util_ct_equal(const void *a, const void *b, size_t n);

struct sa;
/** True when ip lies in net ("10.0.0.0/8", "2001:db8::/32" or one
 * address). */
bool util_ipnet_match(const char *net, const struct sa *ip);

/**
 * Local weekday (0 = Monday) and minute of the day of a moment in an IANA
 * time zone (NULL or "" for UTC). Thread-safe. 0 or EINVAL.
 */
int util_local_time(const char *tz, int64_t ms, int *wdayp, int *minutep);

/** True when name is an IANA time zone known to this system's tzdata. */
bool util_tz_valid(const char *name);

/** True when s is "HH:MM" with 00<=HH<=23 (or "24:00"), 00<=MM<=59. */
bool util_hhmm_valid(const char *s);

#endif
