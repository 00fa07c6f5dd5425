/* main.c - the `parley` command line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "api/keys.h"
#include "config/config.h"
#include "core/log.h"
#include "server/server.h"
#include "store/db.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: parley COMMAND [OPTIONS]\n"
"\n"
"Parley %s: a self-hosted AI voice-agent calling server.\n"
"\n"
"commands:\n"
"  serve [--config FILE]        run the server (HTTP API; SIP once enabled)\n"
"  migrate [--config FILE]      apply pending database migrations and exit\n"
"  apikey create --tenant NAME [--name LABEL] [--config FILE]\n"
"                               create the tenant if needed and print a new\n"
"                               API key (shown once; only its hash is stored)\n"
"  config sample                print the commented sample configuration\n"
"  --help, -h                   this text\n"
"  --version                    print the version\n"
"\n"
"Settings come from the built-in defaults, then --config FILE, then\n"
"PARLEY_* environment variables (e.g. PARLEY_DB_URL, PARLEY_HTTP_LISTEN).\n"
"`parley config sample` lists them all.\n", PARLEY_VERSION);
}

/* parse "--config FILE" and the given extra options; NULL-ended */
struct opt {
	const char *name;
	const char **valp;
};

static int parse_opts(int argc, char **argv, struct opt *opts)
{
	for (int i = 0; i < argc; i++) {
		struct opt *o;

		for (o = opts; o->name; o++)
			if (!strcmp(argv[i], o->name))
				break;
		if (!o->name) {
			fprintf(stderr, "parley: unknown option '%s'\n",
				argv[i]);
			return EINVAL;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "parley: %s needs a value\n", argv[i]);
			return EINVAL;
		}
		*o->valp = argv[++i];
	}
	return 0;
}

static int load_config(struct config *cfg, const char *path)
{
	struct config_err ce;
	enum log_level lvl;

	if (config_load(cfg, path, &ce)) {
		fprintf(stderr, "parley: config: %s\n", ce.msg);
		return EINVAL;
	}
	if (!log_level_parse(&lvl, cfg->log_level))
		log_set_level(lvl);
	return 0;
}

static int cmd_apikey_create(const struct config *cfg, const char *tenant,
			     const char *name)
{
	struct db *db = NULL;
	char key[APIKEY_LEN + 1];
	int64_t tid, kid;
	int err;

	if (!tenant || !*tenant || strlen(tenant) > 200) {
		fprintf(stderr, "parley: apikey create needs --tenant NAME "
			"(1 to 200 characters)\n");
		return 2;
	}
	err = server_migrate(cfg, NULL);
	if (err)
		return 1;
	err = db_open(&db, cfg->db_url);
	if (!err)
		err = tenant_ensure(db, tenant, &tid);
	if (!err)
		err = apikey_issue(db, tid, name, key, &kid);
	if (err) {
		fprintf(stderr, "parley: cannot create the key: %s\n",
			db ? db_errmsg(db) : strerror(err));
		mem_deref(db);
		return 1;
	}
	mem_deref(db);
	printf("%s\n", key);
	fprintf(stderr, "API key %lld for tenant '%s' (id %lld). It is shown "
		"only now: store it safely.\n", (long long)kid, tenant,
		(long long)tid);
	memset(key, 0, sizeof(key));
	return 0;
}

static int run(int argc, char **argv)
{
	struct config cfg;
	const char *path = NULL, *tenant = NULL, *name = NULL;
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd || !strcmp(cmd, "--help") || !strcmp(cmd, "-h") ||
	    !strcmp(cmd, "help")) {
		usage(stdout);
		return cmd ? 0 : 2;
	}
	if (!strcmp(cmd, "--version")) {
		printf("parley %s\n", PARLEY_VERSION);
		return 0;
	}

	if (!strcmp(cmd, "serve") || !strcmp(cmd, "migrate")) {
		struct opt o[] = {{"--config", &path}, {NULL, NULL}};
		if (parse_opts(argc - 2, argv + 2, o) ||
		    load_config(&cfg, path))
			return 2;
		if (!strcmp(cmd, "serve"))
			return server_run(&cfg);
		int applied = 0;
		if (server_migrate(&cfg, &applied))
			return 1;
		printf("migrations applied: %d\n", applied);
		return 0;
	}

	if (!strcmp(cmd, "apikey")) {
		struct opt o[] = {{"--config", &path}, {"--tenant", &tenant},
				  {"--name", &name}, {NULL, NULL}};
		if (argc < 3 || strcmp(argv[2], "create")) {
			fprintf(stderr, "parley: usage: parley apikey create "
				"--tenant NAME\n");
			return 2;
		}
		if (parse_opts(argc - 3, argv + 3, o) ||
		    load_config(&cfg, path))
			return 2;
		return cmd_apikey_create(&cfg, tenant, name);
	}

	if (!strcmp(cmd, "config") && argc == 3 &&
	    !strcmp(argv[2], "sample")) {
		re_printf("%H", config_print_sample, NULL);
		return 0;
	}

	fprintf(stderr, "parley: unknown command '%s' (see parley --help)\n",
		cmd);
	return 2;
}

int main(int argc, char **argv)
{
	int rc;

	if (libre_init()) {
		fprintf(stderr, "parley: cannot initialise libre\n");
		return 1;
	}
	rc = run(argc, argv);
	libre_close();
	return rc;
}
