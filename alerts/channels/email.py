"""E-mail over SMTP (smtplib): one message per alert, or the daily digest per owner."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage

from revisit.alerts.channels.base import DeliveryFailure, read_secret
from revisit.alerts.render import digest_message, email_message
from revisit.core.alert import Alert
from revisit.core.config import DeliverySettings, EmailSettings


@dataclass
class EmailChannel:
    settings: EmailSettings
    history_url: str = ""
    name: str = "email"
    team_zone: str = ""  # business_hours.timezone: the zone the messages name (JST)

    def recipient(self, alert: Alert) -> str:
        return alert.owner.email or self.settings.fallback_to

    def send(self, alert: Alert) -> str:
        recipient = self.recipient(alert)
        if not recipient:
            raise DeliveryFailure("email: the owner has no e-mail and email.fallback_to is not set", permanent=True)
        return self._deliver(
            email_message(alert, self.settings.sender, recipient, self.history_url, team_zone=self.team_zone), recipient
        )

    def send_digest(self, alerts: list[Alert], recipient: str, over_budget: int = 0) -> str:
        if not recipient:
            raise DeliveryFailure("email: the owner has no e-mail and email.fallback_to is not set", permanent=True)
        return self._deliver(
            digest_message(alerts, self.settings.sender, recipient, self.history_url, over_budget=over_budget),
            recipient,
        )

    def _deliver(self, message: EmailMessage, recipient: str) -> str:
        import smtplib  # here, where it is used: a replay sends no e-mail (a few ms; ssl comes with urllib)
        import ssl

        password = read_secret(self.settings.password_env, self.settings.password_file)
        settings = self.settings
        context = ssl.create_default_context(cafile=settings.ca_file or None)
        try:
            if settings.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    settings.host, settings.port, timeout=settings.timeout_seconds, context=context
                )
            else:
                smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
            with smtp:
                if settings.security == "starttls":
                    smtp.starttls(context=context)
                if settings.username:
                    smtp.login(settings.username, password)
                refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused:
            raise DeliveryFailure(f"email: {recipient} refused by the server", permanent=True) from None
        except smtplib.SMTPAuthenticationError as error:
            # Wrong credentials are fixed by an operator, not by this alert: keep retrying.
            raise DeliveryFailure(f"email: authentication failed ({error.smtp_code})") from None
        except smtplib.SMTPResponseException as error:
            raise DeliveryFailure(
                f"email: server answered {error.smtp_code}", permanent=500 <= error.smtp_code < 600
            ) from None
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryFailure(
                f"email: cannot deliver via {settings.host}:{settings.port} ({type(error).__name__})"
            ) from None
        if refused:
            raise DeliveryFailure(f"email: {', '.join(refused)} refused", permanent=True)
        return f"smtp:{recipient}"


def build(delivery: DeliverySettings) -> EmailChannel:
    return EmailChannel(delivery.email, delivery.history_url, team_zone=delivery.business_hours.timezone)


def secrets(delivery: DeliverySettings) -> dict[str, tuple[str, str]]:
    return {"SMTP password": (delivery.email.password_env, delivery.email.password_file)}
