"""CloudEvent ``type`` strings (the routing keys), one constant per event and version.

Constant names drop the producer where the rest is unique (``GROUP_SESSION_SCHEDULED_V1``);
the stays service's canonical stay events, which share their aggregate and event names
with the EHR feed's, keep theirs (``STAYS_STAY_ADMITTED_V1``)."""

from __future__ import annotations

from typing import Final

# Inbound: scheduling system
GROUP_SESSION_SCHEDULED_V1: Final = "scheduling.group_session.scheduled.v1"
GROUP_SESSION_UPDATED_V1: Final = "scheduling.group_session.updated.v1"
GROUP_SESSION_CANCELLED_V1: Final = "scheduling.group_session.cancelled.v1"
GROUP_SESSION_ATTENDANCE_MARKED_V1: Final = "scheduling.group_session.attendance_marked.v1"

# Inbound: EHR
MEMBER_UPSERTED_V1: Final = "ehr.member.upserted.v1"
PROVIDER_UPSERTED_V1: Final = "ehr.provider.upserted.v1"
FACILITY_UPSERTED_V1: Final = "ehr.facility.upserted.v1"
STAY_ADMITTED_V1: Final = "ehr.stay.admitted.v1"
STAY_LEAVE_STARTED_V1: Final = "ehr.stay.leave_started.v1"
STAY_LEAVE_ENDED_V1: Final = "ehr.stay.leave_ended.v1"
STAY_DISCHARGED_V1: Final = "ehr.stay.discharged.v1"
STAY_CORRECTED_V1: Final = "ehr.stay.corrected.v1"

# Outbound: attendance service
GROUP_SESSION_CLOSED_V1: Final = "attendance.group_session.closed.v1"
GROUP_SESSION_REOPENED_V1: Final = "attendance.group_session.reopened.v1"
ATTENDANCE_MARK_REJECTED_V1: Final = "attendance.mark.rejected.v1"

# Outbound: stays service (canonical stay state after each change)
STAYS_STAY_ADMITTED_V1: Final = "stays.stay.admitted.v1"
STAYS_STAY_LEAVE_STARTED_V1: Final = "stays.stay.leave_started.v1"
STAYS_STAY_LEAVE_ENDED_V1: Final = "stays.stay.leave_ended.v1"
STAYS_STAY_DISCHARGED_V1: Final = "stays.stay.discharged.v1"
STAYS_STAY_CORRECTED_V1: Final = "stays.stay.corrected.v1"

# Outbound: charges service
CHARGES_RECORDED_V1: Final = "charges.charges.recorded.v1"
GROUP_SESSION_CHARGED_V1: Final = "charges.group_session.charged.v1"
STAY_CHARGED_V1: Final = "charges.stay.charged.v1"

# Outbound: claims service
CLAIM_SUBMITTED_V1: Final = "claims.claim.submitted.v1"
CLAIM_STATUS_CHANGED_V1: Final = "claims.claim.status_changed.v1"
CLAIM_WITHDRAWAL_REQUESTED_V1: Final = "claims.claim.withdrawal_requested.v1"

# Outbound: EDI gateway
EDI_CLAIM_TRANSMITTED_V1: Final = "edi.claim.transmitted.v1"
EDI_CLAIM_REJECTED_V1: Final = "edi.claim.rejected.v1"
EDI_CLAIM_ACCEPTED_V1: Final = "edi.claim.accepted.v1"
EDI_CLAIM_WITHDRAWAL_ANSWERED_V1: Final = "edi.claim.withdrawal_answered.v1"
