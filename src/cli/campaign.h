/* campaign.h - `parley campaign start|pause|resume|cancel|status ID`:
 * a campaign's life cycle and progress through the running server's API
 * (POST /api/v1/campaigns/{id}/ACTION, GET .../stats). `status --watch`
 * redraws a progress bar with the counts by task status and outcome
 * until the campaign is completed or cancelled. */
#ifndef PARLEY_CLI_CAMPAIGN_H
#define PARLEY_CLI_CAMPAIGN_H

#include <stdio.h>

/**
 * Run the command; argv holds the arguments after "campaign". Exit
 * status: 0 done, 1 the server refused (e.g. 409 for a transition the
 * campaign's state does not allow) or could not be reached, 2 bad usage.
 */
int cmd_campaign(int argc, char **argv);

void campaign_usage(FILE *f);

#endif
