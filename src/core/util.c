/* util.c - small shared helpers used across modules. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <pthread.h>
#include <stdlib.h>
#include <re.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include "core/util.h"

int64_t util_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t util_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void util_iso8601(char buf[32], int64_t ms)
{
	time_t sec;
	struct tm tm;
	char base[24];
	unsigned frac;

	if (ms < 0)
		ms = 0;
	sec  = (time_t)(ms / 1000);
	frac = (unsigned)(ms % 1000);
	gmtime_r(&sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, 32, "%.19s.%03uZ", base, frac % 1000u);
}

static int digits(const char **sp, int n, int *valp)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		char c = (*sp)[i];
		if (c < '0' || c > '9')
			return EINVAL;
		v = v * 10 + (c - '0');
	}
	*sp += n;
	*valp = v;
	return 0;
}

static bool expect(const char **sp, char c)
{
	if (**sp != c)
		return false;
	++*sp;
	return true;
}

int util_parse_time(int64_t *msp, const char *s)
{
	static const int mdays[] = {31,29,31,30,31,30,31,31,30,31,30,31};
	int y, mo, d, h = 0, mi = 0, se = 0, ms = 0, off = 0;
	struct tm tm;

	if (!msp || !s)
		return EINVAL;
	if (digits(&s, 4, &y) || !expect(&s, '-') || digits(&s, 2, &mo) ||
	    !expect(&s, '-') || digits(&s, 2, &d))
		return EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1])
		return EINVAL;
	if (*s) {
		if (!expect(&s, 'T') && !expect(&s, 't') && !expect(&s, ' '))
			return EINVAL;
		if (digits(&s, 2, &h) || !expect(&s, ':') ||
		    digits(&s, 2, &mi) || !expect(&s, ':') ||
		    digits(&s, 2, &se))
			return EINVAL;
		if (h > 23 || mi > 59 || se > 60)
			return EINVAL;
		if (expect(&s, '.')) {
			int n = 0;
			while (*s >= '0' && *s <= '9') {
				if (n < 3)
					ms = ms * 10 + (*s - '0');
				++n;
				++s;
			}
			if (!n)
				return EINVAL;
			for (; n < 3; n++)
				ms *= 10;
		}
		if (expect(&s, 'Z') || expect(&s, 'z')) {
			off = 0;
		}
		else if (*s == '+' || *s == '-') {
			int sign = *s == '-' ? -1 : 1, oh, om;
			++s;
			if (digits(&s, 2, &oh) || !expect(&s, ':') ||
			    digits(&s, 2, &om) || oh > 23 || om > 59)
				return EINVAL;
			off = sign * (oh * 60 + om);
		}
		else {
			return EINVAL;
		}
		if (*s)
			return EINVAL;
	}

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon  = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min  = mi;
	tm.tm_sec  = se;
	*msp = ((int64_t)timegm(&tm) - (int64_t)off * 60) * 1000 + ms;
	return 0;
}

int util_random(uint8_t *buf, size_t n)
{
	return RAND_bytes(buf, (int)n) == 1 ? 0 : EIO;
}

void util_hex(char *out, const uint8_t *buf, size_t n)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i]     = hx[buf[i] >> 4];
		out[2 * i + 1] = hx[buf[i] & 15];
	}
	out[2 * n] = '\0';
}

void util_sha256_hex(char out[65], const void *data, size_t n)
{
	uint8_t md[SHA256_DIGEST_LENGTH];

	SHA256(data, n, md);
	util_hex(out, md, sizeof(md));
}

bool util_ct_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

bool util_tz_valid(const char *name)
{
	char path[256];
	struct stat st;

	if (!name || !*name || strlen(name) > 64 || name[0] == '/' ||
	    strstr(name, ".."))
		return false;
	for (const char *p = name; *p; p++) {
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || strchr("/_+-", *p)))
			return false;
	}
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

bool util_hhmm_valid(const char *s)
{
	if (!s || strlen(s) != 5 || s[2] != ':')
		return false;
	for (int i = 0; i < 5; i++)
		if (i != 2 && (s[i] < '0' || s[i] > '9'))
			return false;
	int h = (s[0] - '0') * 10 + (s[1] - '0');
	int m = (s[3] - '0') * 10 + (s[4] - '0');
	return (h < 24 && m < 60) || (h == 24 && m == 0);
}

void util_hmac_sha256(uint8_t mac[32], const void *key, size_t keylen,
		      const void *data, size_t n)
{
	unsigned int len = 32;

	HMAC(EVP_sha256(), key, (int)keylen, data, n, mac, &len);
}

bool util_ipnet_match(const char *net, const struct sa *ip)
{
	char addr[64];
	const char *slash = strchr(net, '/');
	size_t n = slash ? (size_t)(slash - net) : strlen(net);
	struct sa sn;
	int bits, max;
	const uint8_t *a, *b;

	if (!n || n >= sizeof(addr))
		return false;
	memcpy(addr, net, n);
	addr[n] = '\0';
	if (sa_set_str(&sn, addr, 0) || sa_af(&sn) != sa_af(ip))
		return false;
	max = sa_af(ip) == AF_INET ? 32 : 128;
	bits = slash ? atoi(slash + 1) : max;
	if (bits < 0 || bits > max)
		return false;
	if (sa_af(ip) == AF_INET) {
		a = (const uint8_t *)&sn.u.in.sin_addr;
		b = (const uint8_t *)&ip->u.in.sin_addr;
	}
	else {
		a = (const uint8_t *)&sn.u.in6.sin6_addr;
		b = (const uint8_t *)&ip->u.in6.sin6_addr;
	}
	for (int i = 0; i < bits / 8; i++)
		if (a[i] != b[i])
			return false;
	if (bits % 8) {
		uint8_t mask = (uint8_t)(0xff << (8 - bits % 8));
		if ((a[bits / 8] & mask) != (b[bits / 8] & mask))
			return false;
	}
	return true;
}

/* glibc converts to local time only through the TZ environment
 * variable, which is process-wide: serialise every conversion */
static pthread_mutex_t tz_mtx = PTHREAD_MUTEX_INITIALIZER;

int util_local_time(const char *tz, int64_t ms, int *wdayp, int *minutep)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char *old = NULL;
	bool ok;

	if (tz && *tz && !util_tz_valid(tz))
		return EINVAL;
	pthread_mutex_lock(&tz_mtx);
	if (getenv("TZ"))
		old = strdup(getenv("TZ"));
	setenv("TZ", tz && *tz ? tz : "UTC", 1);
	tzset();
	ok = localtime_r(&t, &tm) != NULL;
	if (old) {
		setenv("TZ", old, 1);
		free(old);
	}
	else {
		unsetenv("TZ");
	}
	tzset();
	pthread_mutex_unlock(&tz_mtx);
	if (!ok)
		return EINVAL;
	*wdayp = (tm.tm_wday + 6) % 7;
	*minutep = tm.tm_hour * 60 + tm.tm_min;
	return 0;
}
