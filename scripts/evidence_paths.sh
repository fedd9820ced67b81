# Sourced by scripts/evidence.sh and scripts/gpu_evidence.sh: where the evidence lives.
# While it is collected it has its own folders (under EVIDENCE_WORK, outside the repository);
# once scripts/ship_evidence.sh has shipped it (and removed them), the shipped weights and
# their report. An exported WEIGHTS or REPORT wins.
EVIDENCE_WORK=${EVIDENCE_WORK:-$HOME/.cache/finescale/evidence}
if [ -d "$EVIDENCE_WORK/weights" ]; then
  WEIGHTS=${WEIGHTS:-$EVIDENCE_WORK/weights} REPORT=${REPORT:-$EVIDENCE_WORK/report}
else
  WEIGHTS=${WEIGHTS:-assets/weights} REPORT=${REPORT:-assets/report}
fi
DOC=${DOC:-docs/evidence.md}
