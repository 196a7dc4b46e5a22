"""The routing table: which handler serves each command, query and event."""

from __future__ import annotations

from collections.abc import Mapping

from application.analytics import aggregation, reports, retention
from application.catalog import authoring, browsing, media, progress, series
from application.commerce import grants, library, payment_events, purchasing, refunds
from application.credits import adjusting, audit, packs, schedule
from application.credits import views as credit_views
from application.identity import (
    administration,
    api_keys,
    login,
    passwords,
    profile,
    registration,
    sessions,
    verification,
)
from application.memberships import billing_events, renewals, subscribing, tiers
from application.memberships import views as membership_views
from application.messagebus import CommandHandler, EventHandler, EventRouting
from application.notifications import (
    booking_emails,
    commerce_emails,
    credit_warnings,
    identity_emails,
    in_app,
    inbox,
    membership_emails,
    payout_emails,
)
from application.offerings import authoring as offering_authoring
from application.offerings import booking as offering_booking
from application.offerings import browsing as offering_browsing
from application.offerings import feeds as offering_feeds
from application.offerings import installments as offering_installments
from application.offerings import portals as offering_portals
from application.offerings import reminders as offering_reminders
from application.offerings import session_moves
from application.offerings import views as offering_views
from application.offerings import waitlist as offering_waitlist
from application.payouts import accounts as payout_accounts
from application.payouts import earnings as payout_earnings
from application.payouts import invitations as payout_invitations
from application.platform import settings
from application.system import health
from domain.catalog import events as catalog_events
from domain.commerce import events as commerce_events
from domain.events import DomainEvent
from domain.identity import events as identity_events
from domain.memberships import events as membership_events
from domain.offerings import events as offering_events
from domain.payouts import accounts as payout_account_events
from domain.payouts import invitations as invitation_events

COMMAND_HANDLERS: Mapping[type, CommandHandler] = {
    registration.RegisterCustomer: registration.register_customer,
    registration.CreateUser: registration.create_user,
    verification.VerifyEmail: verification.verify_email,
    verification.ResendVerification: verification.resend_verification,
    login.Login: login.login,
    sessions.Authenticate: sessions.authenticate,
    sessions.Logout: sessions.logout,
    sessions.LogoutEverywhere: sessions.logout_everywhere,
    passwords.RequestPasswordReset: passwords.request_password_reset,
    passwords.ResetPassword: passwords.reset_password,
    passwords.ChangePassword: passwords.change_password,
    profile.GetMe: profile.get_me,
    profile.UpdateProfile: profile.update_profile,
    profile.DeleteAccount: profile.delete_account,
    administration.ListUsers: administration.list_users,
    administration.SetRole: administration.set_role,
    administration.DisableUser: administration.disable_user,
    administration.EnableUser: administration.enable_user,
    administration.ActAs: administration.act_as,
    settings.GetSettings: settings.get_settings,
    aggregation.AggregateAnalytics: aggregation.aggregate_analytics,
    retention.PruneViews: retention.prune_views,
    reports.AnalyticsSeries: reports.analytics_series,
    reports.AnalyticsByItem: reports.analytics_by_item,
    settings.UpdateSettings: settings.update_settings,
    health.CheckHealth: health.check_health,
    authoring.CreateContent: authoring.create_content,
    authoring.UpdateContent: authoring.update_content,
    authoring.RenameSlug: authoring.rename_slug,
    authoring.SetPrerequisites: authoring.set_prerequisites,
    authoring.PublishContent: authoring.publish_content,
    authoring.UnpublishContent: authoring.unpublish_content,
    authoring.ArchiveContent: authoring.archive_content,
    authoring.DeleteContent: authoring.delete_content,
    authoring.GetStudioItem: authoring.get_studio_item,
    series.CreateSeries: series.create_series,
    series.UpdateSeries: series.update_series,
    series.AddToSeries: series.add_to_series,
    series.RemoveFromSeries: series.remove_from_series,
    series.ReorderSeries: series.reorder_series,
    series.PublishSeries: series.publish_series,
    series.GetSeries: series.get_series,
    browsing.BrowseCatalog: browsing.browse_catalog,
    browsing.GetContent: browsing.get_content,
    browsing.CheckAccess: browsing.check_access,
    browsing.ExplainAccess: browsing.explain_access,
    browsing.ListStudioContent: browsing.list_studio_content,
    media.StartMediaUpload: media.start_media_upload,
    media.ConfirmMediaUpload: media.confirm_media_upload,
    media.RequestPlayback: media.request_playback,
    progress.RecordProgress: progress.record_progress,
    progress.ContinueWatching: progress.continue_watching,
    purchasing.StartPurchase: purchasing.start_purchase,
    payment_events.HandlePaymentEvent: payment_events.handle_payment_event,
    refunds.RefundPurchase: refunds.refund_purchase,
    grants.GrantAccess: grants.grant_access,
    grants.RevokeAccess: grants.revoke_access,
    library.MyPurchases: library.my_purchases,
    library.MyLibrary: library.my_library,
    tiers.CreateTier: tiers.create_tier,
    tiers.UpdateTier: tiers.update_tier,
    tiers.ListTiers: tiers.list_tiers,
    tiers.GetTier: tiers.get_tier,
    tiers.SyncTiers: tiers.sync_tiers,
    subscribing.Subscribe: subscribing.subscribe,
    subscribing.ChangeSubscription: subscribing.change_subscription,
    subscribing.CancelMySubscription: subscribing.cancel_my_subscription,
    subscribing.ResumeMySubscription: subscribing.resume_my_subscription,
    subscribing.CancelSubscriptionNow: subscribing.cancel_subscription_now,
    billing_events.HandleBillingEvent: billing_events.handle_billing_event,
    renewals.AdvanceSandbox: renewals.advance_sandbox,
    membership_views.MySubscription: membership_views.my_subscription,
    membership_views.ListSubscriptions: membership_views.list_subscriptions,
    credit_views.MyCredits: credit_views.my_credits,
    credit_views.MyCreditTransactions: credit_views.my_credit_transactions,
    adjusting.AdjustCredits: adjusting.adjust_credits,
    packs.CreateCreditPack: packs.create_credit_pack,
    packs.UpdateCreditPack: packs.update_credit_pack,
    packs.ListCreditPacks: packs.list_credit_packs,
    packs.GetCreditPack: packs.get_credit_pack,
    schedule.RunCreditSchedule: schedule.run_credit_schedule_command,
    audit.AuditCredits: audit.audit_credits,
    offering_authoring.CreateOffering: offering_authoring.create_offering,
    offering_authoring.UpdateOffering: offering_authoring.update_offering,
    offering_authoring.ChangeOfferingStatus: offering_authoring.change_offering_status,
    offering_authoring.GetStudioOffering: offering_authoring.get_studio_offering,
    offering_authoring.ListStudioOfferings: offering_authoring.list_studio_offerings,
    offering_browsing.BrowseOfferings: offering_browsing.browse_offerings,
    offering_browsing.GetOffering: offering_browsing.get_offering,
    offering_browsing.ListSessions: offering_browsing.list_sessions,
    offering_booking.BookOffering: offering_booking.book_offering,
    offering_booking.CancelBooking: offering_booking.cancel_booking,
    offering_booking.ReleaseExpiredHolds: offering_booking.release_expired_holds,
    offering_booking.RescheduleBooking: offering_booking.reschedule_booking,
    offering_installments.ChargeDueInstallments: offering_installments.charge_due_installments,
    session_moves.MoveSession: session_moves.move_session,
    offering_portals.StartResourceUpload: offering_portals.start_resource_upload,
    offering_portals.AddResource: offering_portals.add_resource,
    offering_portals.UpdateResource: offering_portals.update_resource,
    offering_portals.RemoveResource: offering_portals.remove_resource,
    offering_portals.ListResources: offering_portals.list_resources,
    offering_portals.ViewPortal: offering_portals.view_portal,
    offering_reminders.SendDueReminders: offering_reminders.send_due_reminders,
    offering_feeds.CreateCalendarFeed: offering_feeds.create_calendar_feed,
    offering_feeds.RevokeCalendarFeed: offering_feeds.revoke_calendar_feed,
    offering_feeds.ReadCalendarFeed: offering_feeds.read_calendar_feed,
    offering_waitlist.JoinWaitlist: offering_waitlist.join_waitlist,
    offering_waitlist.LeaveWaitlist: offering_waitlist.leave_waitlist,
    offering_waitlist.LapseWaitlistOffers: offering_waitlist.lapse_waitlist_offers,
    offering_views.MyBookings: offering_views.my_bookings,
    offering_views.MyBooking: offering_views.my_booking,
    offering_views.BookingCalendar: offering_views.booking_calendar,
    offering_views.OfferingBookings: offering_views.offering_bookings,
    offering_views.MarkBooking: offering_views.mark_booking,
    credit_warnings.WarnExpiringCredits: credit_warnings.warn_expiring_credits,
    inbox.ListNotifications: inbox.list_notifications,
    inbox.UnreadNotifications: inbox.unread_notifications,
    inbox.MarkNotificationRead: inbox.mark_notification_read,
    inbox.MarkAllNotificationsRead: inbox.mark_all_notifications_read,
    inbox.GetNotificationPreferences: inbox.get_notification_preferences,
    inbox.SetNotificationPreferences: inbox.set_notification_preferences,
    api_keys.CreateApiKey: api_keys.create_api_key,
    api_keys.ListApiKeys: api_keys.list_api_keys,
    api_keys.RevokeApiKey: api_keys.revoke_api_key,
    payout_invitations.InviteMediaOwner: payout_invitations.invite_media_owner,
    payout_invitations.ListInvitations: payout_invitations.list_invitations,
    payout_invitations.AcceptInvitation: payout_invitations.accept_invitation,
    payout_accounts.GetPayoutAccount: payout_accounts.get_payout_account,
    payout_accounts.StartPayoutOnboarding: payout_accounts.start_payout_onboarding,
    payout_accounts.ListMediaOwners: payout_accounts.list_media_owners,
    payout_earnings.GetEarnings: payout_earnings.get_earnings,
    payout_earnings.ListPayouts: payout_earnings.list_payouts,
}

# Handler names are stored in outbox rows: renaming one strands its pending messages.
EVENT_HANDLERS: Mapping[type[DomainEvent], Mapping[str, EventHandler]] = {
    identity_events.EmailVerificationRequested: {
        "email.verification": identity_emails.send_verification_email,
    },
    identity_events.PasswordResetRequested: {
        "email.password_reset": identity_emails.send_password_reset_email,
    },
    identity_events.RegistrationAttemptedForExistingEmail: {
        "email.registration_existing": identity_emails.send_existing_account_notice,
    },
    identity_events.PasswordChanged: {
        "email.password_changed": identity_emails.send_password_changed_notice,
    },
    commerce_events.PurchaseCompleted: {"email.purchase_receipt": commerce_emails.send_receipt,
                                        "notify.purchase_completed": in_app.purchase_completed},
    commerce_events.PurchaseRefunded: {
        "email.purchase_refund": commerce_emails.send_refund_notice,
        "notify.purchase_refunded": in_app.purchase_refunded,
    },
    membership_events.MembershipStarted: {
        "email.membership_welcome": membership_emails.send_welcome,
        "notify.membership_started": in_app.membership_started,
    },
    membership_events.MembershipRenewed: {
        "email.membership_renewal": membership_emails.send_renewal_receipt,
        "notify.membership_renewed": in_app.membership_renewed,
    },
    membership_events.MembershipPaymentFailed: {
        "email.membership_payment_failed": membership_emails.send_payment_failed,
        "notify.membership_payment_failed": in_app.membership_payment_failed,
    },
    membership_events.MembershipCancellationScheduled: {
        "email.membership_canceled": membership_emails.send_cancellation,
        "notify.membership_ending": in_app.membership_ending,
    },
    membership_events.MembershipEnded: {
        "email.membership_ended": membership_emails.send_ended,
        "notify.membership_ended": in_app.membership_ended,
    },
    offering_events.BookingConfirmed: {
        "email.booking_confirmation": booking_emails.send_confirmation,
        "notify.booking_confirmed": in_app.booking_confirmed,
    },
    offering_events.BookingCanceled: {
        "email.booking_canceled": booking_emails.send_cancellation,
        "notify.booking_canceled": in_app.booking_canceled,
    },
    offering_events.BookingRescheduled: {
        "email.booking_rescheduled": booking_emails.send_rescheduled,
        "notify.booking_rescheduled": in_app.booking_rescheduled,
    },
    offering_events.BookingReminderDue: {
        "email.booking_reminder": booking_emails.send_reminder,
        "notify.booking_reminder": in_app.booking_reminder,
    },
    offering_events.InstallmentDeclined: {
        "email.installment_declined": booking_emails.send_installment_declined,
        "notify.installment_declined": in_app.installment_declined,
    },
    offering_events.LatePaymentRefundDue: {
        "payments.refund_late_booking": offering_booking.refund_late_payment,
    },
    offering_events.WaitlistSeatOffered: {
        "email.waitlist_seat_offered": booking_emails.send_seat_offer,
        "notify.waitlist_seat_offered": in_app.waitlist_seat_offered,
    },
    catalog_events.ContentPublished: {
        "notify.series_new_item": in_app.series_new_item,
    },
    invitation_events.MediaOwnerInvited: {
        "email.media_owner_invitation": payout_emails.send_invitation,
    },
    payout_account_events.PayoutsEnabled: {
        "email.payouts_enabled": payout_emails.send_payouts_enabled,
        "notify.payouts_enabled": in_app.payouts_enabled,
    },
}


def default_routing() -> EventRouting:
    return EventRouting(EVENT_HANDLERS)
