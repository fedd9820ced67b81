# Sourced by scripts/evidence.sh and scripts/gpu_evidence.sh: where the evidence lives.
# While it is collected it has its own folders; once scripts/ship_evidence.sh has shipped it
# (and removed them), the shipped weights and their report. An exported WEIGHTS or REPORT wins.
if [ -d assets/evidence/weights ]; then
  WEIGHTS=${WEIGHTS:-assets/evidence/weights} REPORT=${REPORT:-assets/evidence/report}
else
  WEIGHTS=${WEIGHTS:-assets/weights} REPORT=${REPORT:-assets/report}
fi
DOC=${DOC:-docs/evidence.md}
