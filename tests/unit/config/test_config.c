#include "test.h"
#include <unistd.h>
#include "config/config.h"

static const char *write_tmp(const char *text)
{
	static char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/parley-cfg-%d.conf", (int)getpid());
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}



TEST(defaults)
{
	struct config c;

	config_defaults(&c);
	CHECK_STR(c.db_url, "sqlite:parley.db");
	CHECK_STR(c.http_listen, "127.0.0.1:8080");
	CHECK_STR(c.sip_listen, "127.0.0.1:5060");
	CHECK_EQ_INT(c.workers, 4);
	CHECK_EQ_INT(c.cache_ttl, 300);
}

TEST(file_then_environment)
{
	struct config c;
	struct config_err e;
	const char *p = write_tmp("# comment\n\n workers = 8 \n"
				  "http.listen=127.0.0.1:9000\n");

	setenv("PARLEY_WORKERS", "2", 1);
	CHECK_EQ_INT(config_load(&c, p, &e), 0);
	unsetenv("PARLEY_WORKERS");
	unlink(p);
	CHECK_EQ_INT(c.workers, 2);              /* env wins */
	CHECK_STR(c.http_listen, "127.0.0.1:9000");
}

TEST(errors_name_line_and_option)
{
	struct config c;
	struct config_err e;
	const char *p;

	p = write_tmp("workers = 4\nbogus = 1\n");
	CHECK_EQ_INT(config_load(&c, p, &e), EINVAL);
	CHECK(strstr(e.msg, ":2: unknown option 'bogus'"));

	p = write_tmp("workers = 0\n");
	CHECK_EQ_INT(config_load(&c, p, &e), EINVAL);
	CHECK(strstr(e.msg, "workers: expected an integer from 1 to 256"));

	p = write_tmp("http.listen = nowhere\n");
	CHECK_EQ_INT(config_load(&c, p, &e), EINVAL);
	CHECK(strstr(e.msg, "http.listen: invalid value"));

	p = write_tmp("just words\n");
	CHECK_EQ_INT(config_load(&c, p, &e), EINVAL);
	CHECK(strstr(e.msg, "expected 'name = value'"));
	unlink(p);

	CHECK_EQ_INT(config_load(&c, "/nonexistent/parley.conf", &e), ENOENT);

	setenv("PARLEY_CONTACTS_DEFAULT_COUNTRY", "XX", 1);
	CHECK_EQ_INT(config_load(&c, NULL, &e), EINVAL);
	unsetenv("PARLEY_CONTACTS_DEFAULT_COUNTRY");
	CHECK(strstr(e.msg, "PARLEY_CONTACTS_DEFAULT_COUNTRY"));
}

TEST(set_by_name)
{
	struct config c;
	struct config_err e;

	config_defaults(&c);
	CHECK_EQ_INT(config_set(&c, "cache.ttl", "5", &e), 0);
	CHECK_EQ_INT(c.cache_ttl, 5);
	CHECK_EQ_INT(config_set(&c, "cache.ttl", "-1", &e), EINVAL);
	CHECK_EQ_INT(config_set(&c, "cache.ttl", "5x", &e), EINVAL);
	CHECK_EQ_INT(config_set(&c, "nope", "1", &e), ENOENT);
}

TEST_MAIN()
