/* amd.c - `parley amd analyze`: run the answering-machine detector on
 * WAV files as it runs on a call (from the moment of answer, 20 ms at a
 * time) and print what it decided, when and why.
 *
 * Several files in one run share the parameters; --json prints one JSON
 * object per file and line (the accuracy test and the benchmark feed it
 * a whole labelled set at once). Any rate is resampled to 8 kHz; of a
 * stereo file the left channel is analysed unless --channel says
 * otherwise (Parley's recordings: the far end on the left).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <re.h>
#include "audio/resample.h"
#include "audio/wav.h"
#include "cli/amd.h"
#include "json/json.h"
#include "media/amd.h"

enum { EXIT_OK = 0, EXIT_USAGE = 2 };

static void usage(FILE *f)
{
	const struct amd_param_info *pi;

	fprintf(f,
"usage: parley amd analyze FILE.wav [FILE.wav ...] [--PARAM VALUE ...]\n"
"         [--params JSON] [--channel N] [--json]\n"
"\n"
"Runs the answering-machine detector on recordings of the called party,\n"
"from the moment of answer, and prints its decision (human, machine or\n"
"unsure), the time it was reached from the start of the file, the cause,\n"
"and for a machine the beep and the end of the greeting (when a message\n"
"can start). WAVs: 16-bit PCM at any rate (resampled to 8 kHz), mono or\n"
"stereo (--channel 0 = left, the default; 1 = right). --json prints one\n"
"JSON object per file and line. --params takes the parameters as a JSON\n"
"object, as an agent's outbound.amd settings carry them. Exit 0, or 2\n"
"for a bad parameter or file.\n"
"\n"
"parameters (--name VALUE; in JSON: names with underscores):\n");
	for (size_t i = 0; (pi = amd_param_info(i)); i++) {
		char name[64];
		size_t k;

		for (k = 0; pi->name[k] && k < sizeof(name) - 1; k++)
			name[k] = pi->name[k] == '_' ? '-' : pi->name[k];
		name[k] = '\0';
		fprintf(f, "  --%-28s %s, default %s\n      %s\n", name,
			pi->unit, pi->def, pi->doc);
	}
}

/* the analysed channel at 8 kHz, mem-allocated */
static int load(const char *path, unsigned channel, int16_t **pcmp,
		size_t *np)
{
	int16_t *samples = NULL, *mono = NULL;
	size_t nframes = 0;
	uint32_t srate = 0;
	unsigned channels = 0;
	int err;

	err = wav_read(path, &samples, &nframes, &srate, &channels);
	if (err) {
		fprintf(stderr, "parley: %s: %s\n", path, err == EBADMSG ?
			"not a 16-bit PCM WAV file" : strerror(err));
		return err;
	}
	if (channel >= channels) {
		fprintf(stderr, "parley: %s: no channel %u (%u channel%s)\n",
			path, channel, channels, channels > 1 ? "s" : "");
		err = EINVAL;
		goto out;
	}

	if (channels > 1) {
		mono = mem_alloc((nframes ? nframes : 1) * sizeof(*mono),
				 NULL);
		if (!mono) {
			err = ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < nframes; i++)
			mono[i] = samples[i * channels + channel];
		samples = mem_deref(samples);
		samples = mono;
	}

	if (srate != AMD_SRATE) {
		err = resample(pcmp, np, samples, nframes, srate, AMD_SRATE);
		if (err)
			fprintf(stderr, "parley: %s: cannot resample from %u Hz: "
				"%s\n", path, srate, strerror(err));
		goto out;
	}

	*pcmp = samples;
	*np = nframes;
	samples = NULL;
 out:
	mem_deref(samples);
	return err;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* a time or null */
static int print_ms(struct re_printf *pf, void *arg)
{
	int ms = *(int *)arg;

	return ms < 0 ? re_hprintf(pf, "null") : re_hprintf(pf, "%d", ms);
}

static void report(const char *path, const struct amd_result *r,
		   size_t nsamples, uint64_t ns, bool json)
{
	unsigned frames = r->elapsed_ms / AMD_FRAME_MS;
	uint64_t per = frames ? ns / frames : 0;

	if (json) {
		re_printf("{\"file\":%H,\"decision\":\"%s\",\"decided_ms\":%H,"
			  "\"cause\":\"%s\",\"words\":%u,\"voice_ms\":%u,"
			  "\"beep_ms\":%H,\"beep_hz\":%u,\"beep_end_ms\":%H,"
			  "\"greeting_end_ms\":%H,\"end_cause\":\"%s\","
			  "\"duration_ms\":%zu,\"frames\":%u,"
			  "\"ns_per_frame\":%llu}\n",
			  json_print_str, path, amd_decision_str(r->decision),
			  print_ms, &r->decided_ms, r->cause, r->words,
			  r->voice_ms, print_ms, &r->beep_ms, r->beep_hz,
			  print_ms, &r->beep_end_ms, print_ms,
			  &r->greeting_end_ms, r->end_cause,
			  nsamples * 1000 / AMD_SRATE, frames,
			  (unsigned long long)per);
		return;
	}

	printf("file       %s\n", path);
	printf("decision   %s\n", amd_decision_str(r->decision));
	printf("time       %d ms\n", r->decided_ms);
	printf("cause      %s\n", r->cause);
	printf("greeting   %u word%s, %u ms of speech\n", r->words,
	       r->words == 1 ? "" : "s", r->voice_ms);
	if (r->beep_ms >= 0) {
		printf("beep       %d ms, %u Hz", r->beep_ms, r->beep_hz);
		if (r->beep_end_ms >= 0)
			printf(", ends %d ms", r->beep_end_ms);
		printf("\n");
	}
	else {
		printf("beep       none\n");
	}
	if (r->decision == AMD_MACHINE) {
		if (r->greeting_end_ms >= 0)
			printf("message    can start at %d ms (%s)\n",
			       r->greeting_end_ms, r->end_cause);
		else
			printf("message    no end of greeting found (%s)\n",
			       *r->end_cause ? r->end_cause : "not waited");
	}
	printf("\n");
}

static int analyze(const char *path, const struct amd_params *prm,
		   unsigned channel, bool json)
{
	struct amd *amd = NULL;
	struct amd_result res;
	int16_t *pcm = NULL;
	size_t n = 0, off;
	uint64_t t0, ns;
	int err;

	err = load(path, channel, &pcm, &n);
	if (err)
		return err;

	err = amd_alloc(&amd, prm);
	if (err)
		goto out;

	t0 = now_ns();
	for (off = 0; off + AMD_FRAME <= n; off += AMD_FRAME) {
		if (amd_frame(amd, pcm + off, AMD_FRAME) == AMD_DONE)
			break;
	}
	amd_end(amd);
	ns = now_ns() - t0;

	amd_result(amd, &res);
	report(path, &res, n, ns, json);
 out:
	mem_deref(amd);
	mem_deref(pcm);
	return err;
}

int cmd_amd(int argc, char **argv)
{
	struct amd_params prm;
	const char **files;
	unsigned channel = 0;
	size_t nfiles = 0;
	bool json = false;
	char msg[160];
	int rc = EXIT_OK;

	if (argc >= 1 && (!strcmp(argv[0], "--help") ||
			  !strcmp(argv[0], "-h"))) {
		usage(stdout);
		return EXIT_OK;
	}
	if (argc < 1 || strcmp(argv[0], "analyze")) {
		usage(stderr);
		return EXIT_USAGE;
	}

	amd_params_default(&prm);
	files = mem_zalloc((size_t)argc * sizeof(*files), NULL);
	if (!files)
		return 1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			goto out;
		}
		if (!strcmp(a, "--json")) {
			json = true;
			continue;
		}
		if (strncmp(a, "--", 2)) {
			files[nfiles++] = a;
			continue;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "parley: %s needs a value\n", a);
			rc = EXIT_USAGE;
			goto out;
		}
		if (!strcmp(a, "--channel")) {
			char *end;
			unsigned long v = strtoul(argv[++i], &end, 10);

			if (!*argv[i] || *end || v > 1) {
				fprintf(stderr, "parley: --channel: 0 (left) or "
					"1 (right)\n");
				rc = EXIT_USAGE;
				goto out;
			}
			channel = (unsigned)v;
			continue;
		}
		if (!strcmp(a, "--params")) {
			struct odict *o = NULL;
			struct json_err je;
			int type = 0, err;

			++i;
			err = json_parse(&o, &type, argv[i], strlen(argv[i]),
					 &je);
			if (err || type != ODICT_OBJECT) {
				fprintf(stderr, "parley: --params: %s\n", err ?
					je.msg : "expected a JSON object");
				mem_deref(o);
				rc = EXIT_USAGE;
				goto out;
			}
			err = amd_params_decode(&prm, o, msg, sizeof(msg));
			mem_deref(o);
			if (err) {
				fprintf(stderr, "parley: --params: %s\n", msg);
				rc = EXIT_USAGE;
				goto out;
			}
			continue;
		}
		if (amd_param_set(&prm, a + 2, argv[++i], msg, sizeof(msg))) {
			fprintf(stderr, "parley: %s (parley amd analyze "
				"--help lists them)\n", msg);
			rc = EXIT_USAGE;
			goto out;
		}
	}

	if (amd_params_check(&prm, msg, sizeof(msg))) {
		fprintf(stderr, "parley: %s\n", msg);
		rc = EXIT_USAGE;
		goto out;
	}
	if (!nfiles) {
		fprintf(stderr, "parley: amd analyze needs a WAV file\n");
		rc = EXIT_USAGE;
		goto out;
	}

	for (size_t i = 0; i < nfiles; i++) {
		if (analyze(files[i], &prm, channel, json))
			rc = EXIT_USAGE;
		fflush(stdout);
	}
 out:
	mem_deref(files);
	return rc;
}
