/* recording.c - see recording.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "audio/recording.h"

int recording_path(char *buf, size_t sz, const char *root,
		   int64_t campaign_id, int64_t agent_id, int64_t call_id,
		   const char *file)
{
	int n = campaign_id ?
		snprintf(buf, sz, "%s/campaign-%lld/%lld/%s", root,
			 (long long)campaign_id, (long long)call_id, file) :
		snprintf(buf, sz, "%s/agent-%lld/%lld/%s", root,
			 (long long)agent_id, (long long)call_id, file);

	return n < 0 || (size_t)n >= sz ? ENAMETOOLONG : 0;
}

int recording_mkdirs(const char *path)
{
	char dir[512];
	size_t n = strlen(path);

	if (n >= sizeof(dir))
		return ENAMETOOLONG;
	memcpy(dir, path, n + 1);
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0750) && errno != EEXIST)
			return errno;
		*p = '/';
	}
	return 0;
}
