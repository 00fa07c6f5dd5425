/* log.c - one line per message with a UTC timestamp; uses libre's
 * printf so %r (pl), %j (sa) and %m (errno) work. Thread-safe: each line
 * is formatted first and written with one write(). */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>
#include <re.h>
#include "core/log.h"
#include "core/util.h"

static volatile enum log_level log_min = LOG_INFO;

void log_set_level(enum log_level lvl)
{
	log_min = lvl;
}

int log_level_parse(enum log_level *lvlp, const char *s)
{
	static const char *names[] = {"debug", "info", "warn", "error"};

	for (int i = 0; i < 4; i++) {
		if (!strcmp(s, names[i])) {
			*lvlp = (enum log_level)i;
			return 0;
		}
	}
	return EINVAL;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *tags[] = {"debug", "info", "warn", "error"};
	char line[1024], ts[32];
	va_list ap;
	int n;

	if (lvl < log_min)
		return;
	util_iso8601(ts, util_now_ms());
	n = re_snprintf(line, sizeof(line), "%s %s ", ts, tags[lvl]);
	if (n < 0)
		return;
	va_start(ap, fmt);
	(void)re_vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n = (int)strlen(line);
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, (size_t)n);
}
