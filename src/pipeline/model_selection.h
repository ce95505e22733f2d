#pragma once
// The chosen model of one target and budget (docs/PIPELINE.md, final.select). Private to
// src/pipeline.
#include <vector>

#include "model_jobs.h"
#include "thanos/pipeline/stage_outputs.h"

namespace thanos {

// Selected among `finalists` (the search's, best first, then the baseline) after their identical
// training, on the valid split (the test split stays unseen until the evaluate stage), by
// final.select:
// - valid_bleu: the best valid BLEU, then chrF, an earlier one on a tie;
// - beats_baseline: the baseline, unless the best finalist by valid BLEU beats it beyond noise
//   (paired bootstrap on the valid hypotheses, p < 0.05): between models this close a valid BLEU
//   lead of a tenth of a point said nothing of the test split (a demo run: valid +0.10, test
//   -0.62; docs/PIPELINE.md), and the homogeneous design is the safer model to ship when nothing
//   says the search's is better;
// - search: the search's first, as HAT.
// Written to final/[<target>/]<budget>/selection.json.
ChosenModel select_chosen(const Plan& p, const std::vector<ModelJob>& finalists, const Log& log);

}  // namespace thanos
