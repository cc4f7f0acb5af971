"""A realistic demo network for Lindenfeld, a made-up German town, booked through the domain.

Three member organisations, eight districts, about sixty members (volunteers, seniors, some
without email who are clients of an organisation, a few older migrants, staff and a network
manager) and twelve months of help. Every hour is booked the way the app books it: a giver
logs help (``exchanges.record_exchange``), the receiver confirms it, staff enter it for their
clients, the manager pays from the community pool or reverses a wrong entry, so the books
verify and the statements read like real ones.

The network also has the shapes the nightly review looks for: members who only take, members
who give far more than they receive, one who stopped after being active, an exchange nobody
confirmed for weeks and a request nobody answered.

The same seed (and the same ``today``) gives the same network: all chance comes from one
``random.Random(seed)``.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial

from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import board, disputes, exchanges, ledger, members, network
from timebank.db import make_engine, make_sessionmaker, transaction
from timebank.members import NewMember
from timebank.models import (
    Account,
    Category,
    District,
    Exchange,
    Member,
    NetworkSettings,
    Organization,
    Transfer,
    id_of,
)

DEFAULT_SEED = 50
DEMO_PASSWORD = "lindenfeld-demo"
EMAIL_DOMAIN = "lindenfeld.example"
# One login per role, with a password everybody can read in the README.
LOGIN_ROLES = ("manager", "professional", "volunteer", "senior")

DISTRICTS = (
    "Altstadt",
    "Nordstadt",
    "Südviertel",
    "Am Hafen",
    "Rosental",
    "Bergfeld",
    "Weststadt",
    "Eichenhain",
)
ORGANIZATIONS = (
    ("Caritasverband Lindenfeld e.V.", "welfare"),
    ("Ambulanter Pflegedienst Sonnenhof", "care"),
    ("Seniorenbüro der Stadt Lindenfeld", "city"),
)
OLDER_FIRST = (
    "Ursula", "Helga", "Renate", "Brigitte", "Monika", "Ingrid", "Gisela", "Karin", "Elke",
    "Christa", "Gertrud", "Hannelore", "Erika", "Marianne", "Irmgard", "Annemarie", "Doris",
    "Klaus", "Hans", "Jürgen", "Dieter", "Wolfgang", "Manfred", "Horst", "Günter", "Gerhard",
    "Bernd", "Rainer", "Werner", "Heinz", "Helmut", "Rolf", "Siegfried", "Lothar",
)  # fmt: skip
YOUNGER_FIRST = (
    "Sabine", "Petra", "Heike", "Gabriele", "Andrea", "Claudia", "Susanne", "Birgit", "Julia",
    "Katharina", "Miriam", "Stefanie", "Nadine", "Thomas", "Michael", "Frank", "Uwe", "Stefan",
    "Andreas", "Markus", "Tobias", "Daniel", "Jan", "Matthias",
)  # fmt: skip
SURNAMES = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
    "Schulz", "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
    "Schwarz", "Zimmermann", "Braun", "Krüger", "Hartmann", "Lange", "Werner", "Krause",
    "Lehmann", "Schulze", "Köhler", "Herrmann", "König", "Walter", "Kaiser", "Fuchs",
    "Peters", "Scholz", "Möller", "Weiß", "Jung", "Hahn", "Vogel", "Friedrich", "Keller",
    "Günther", "Berger", "Winkler", "Roth", "Beck", "Lorenz", "Baumann", "Franke", "Albrecht",
)  # fmt: skip
# Older people who came to Germany decades ago; they speak German, prefer their language.
MIGRANT_VOLUNTEERS = (("Mehmet Kaya", "tr"), ("Galina Iwanowa", "ru"))
MIGRANT_SENIORS = (
    ("Ayşe Yılmaz", "tr"),
    ("Wladimir Petrow", "ru"),
    ("Fatima Haddad", "ar"),
    ("Yusuf Al-Masri", "ar"),
)
SLUGS = (
    "shopping",
    "accompaniment",
    "visits",
    "household",
    "garden",
    "forms",
    "tech",
    "transport",
    "other",
)
NOTES = {
    "shopping": ("Wocheneinkauf beim Markt", "Apotheke und Bäcker", "Getränkekisten geholt"),
    "accompaniment": ("Begleitung zum Hausarzt", "Zum Augenarzt und zurück", "Zur Bank"),
    "visits": ("Kaffee und ein langes Gespräch", "Spaziergang im Park", "Zusammen Karten gespielt"),
    "household": ("Vorhänge aufgehängt", "Glühbirnen gewechselt", "Beim Fensterputzen geholfen"),
    "garden": ("Hecke geschnitten", "Laub geharkt", "Tomaten gepflanzt"),
    "forms": ("Antrag auf Pflegegrad ausgefüllt", "Brief von der Rentenkasse erklärt", "Steuer"),
    "tech": ("Smartphone eingerichtet", "Videoanruf mit den Enkeln gezeigt", "Drucker repariert"),
    "transport": ("Fahrt zur Physiotherapie", "Fahrt zum Friedhof", "Fahrt zum Wertstoffhof"),
    "translation": ("Beim Arztgespräch übersetzt", "Brief vom Amt übersetzt"),
    "other": ("Beim Umzug in die Wohnung geholfen", "Katze versorgt"),
}
MINUTES = (30, 45, 60, 60, 60, 90, 90, 120, 120, 150)
# Keep planned balances this far inside the limits (−20 h / +100 h): confirmations are
# booked a few days after they were planned, so the order can shift a little.
SAFE_MIN = -15 * 60
SAFE_MAX = 90 * 60
SENIOR_FLOOR = -9 * 60
POOL_RESERVE = 8 * 60


@dataclass(frozen=True)
class Logins:
    """The demo logins: ``emails`` is a list of (role, email), all with ``password``."""

    password: str
    emails: list[tuple[str, str]]


@dataclass(frozen=True)
class DemoSummary:
    seed: int
    organizations: int
    districts: int
    members: int
    exchanges: int
    transfers: int
    logins: Logins


def _login_email(role: str) -> str:
    return f"{role}@{EMAIL_DOMAIN}"


def demo_logins() -> Logins:
    return Logins(DEMO_PASSWORD, [(role, _login_email(role)) for role in LOGIN_ROLES])


def _email_for(name: str) -> str:
    plain = name.lower()
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"), ("ş", "s"), ("ı", "i")):
        plain = plain.replace(a, b)
    return plain.replace(" ", ".").replace("-", "") + "@" + EMAIL_DOMAIN


def _at(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, time(rng.randint(8, 19), rng.randrange(0, 60, 5)), tzinfo=UTC)


# --- The people -------------------------------------------------------------------------------


@dataclass
class Person:
    member: Member
    kinds: tuple[str, ...] = ()  # what they like to help with
    has_login: bool = True

    @property
    def id(self) -> int:
        return id_of(self.member)


@dataclass
class Cast:
    manager: Person
    professionals: dict[int, list[Person]]  # by organisation id
    volunteers: list[Person]
    seniors: list[Person]
    takers: list[Person]  # seniors who only receive
    big_givers: list[Person]  # give far more than they receive
    inactive: Person  # active for months, then nothing for 90+ days
    pool_clients: list[Person]  # seniors whose help the community pool pays
    login_senior: Person
    orgs: list[Organization]
    districts: list[District]

    def staff_for(self, client: Person) -> Member:
        """Who acts for a client without a login: their organisation's first professional."""
        assert client.member.organization_id is not None  # every such client has one
        return self.professionals[client.member.organization_id][0].member


async def _cast(session: AsyncSession, rng: random.Random, today: date) -> Cast:
    orgs = [await members.create_organization(session, n, k) for n, k in ORGANIZATIONS]
    districts = [District(name=n) for n in DISTRICTS]
    session.add_all(districts)
    await session.flush()
    categories = {
        c.slug: c.id for c in (await session.exec(select(Category))).all() if c.id is not None
    }
    used: set[str] = set()

    def name(first: tuple[str, ...]) -> str:
        while True:
            candidate = f"{rng.choice(first)} {rng.choice(SURNAMES)}"
            if candidate not in used:
                used.add(candidate)
                return candidate

    async def add(
        full_name: str,
        role: str,
        *,
        email: str | None,
        login: bool = False,
        kinds: tuple[str, ...] = (),
        org: Organization | None = None,
        language: str = "de",
    ) -> Person:
        joined = today - timedelta(days=rng.randint(400, 1500))
        member = await members.create_member(
            session,
            NewMember(
                name=full_name,
                role=role,
                email=email,
                password=DEMO_PASSWORD if login else None,
                phone=None if email else f"0{rng.randint(3400, 3499)} {rng.randint(10000, 99999)}",
                organization_id=org.id if org else None,
                district_id=rng.choice(districts).id,
                language=language,
                category_ids=tuple(categories[k] for k in kinds),
                joined_on=joined,
                availability=rng.choice((None, "vormittags", "nachmittags", "nicht freitags")),
            ),
            actor=None,
        )
        return Person(member, kinds, has_login=email is not None)

    def likes(n: int) -> tuple[str, ...]:
        return tuple(sorted(rng.sample(SLUGS, n)))

    manager = await add(name(YOUNGER_FIRST), "manager", email=_login_email("manager"), login=True)
    professionals: dict[int, list[Person]] = {}
    for i, org in enumerate(orgs):
        staff = []
        for j in range(2):
            email = _login_email("professional") if i == 0 and j == 0 else None
            full = name(YOUNGER_FIRST)
            staff.append(
                await add(
                    full,
                    "professional",
                    email=email or _email_for(full),
                    login=email is not None,
                    org=org,
                )
            )
        professionals[id_of(org)] = staff

    volunteers = []
    for i in range(25):
        full = name(OLDER_FIRST if i % 3 else YOUNGER_FIRST)
        email = _login_email("volunteer") if i == 0 else _email_for(full)
        volunteers.append(
            await add(full, "volunteer", email=email, login=i == 0, kinds=likes(rng.randint(2, 4)))
        )
    for full, language in MIGRANT_VOLUNTEERS:
        used.add(full)
        volunteers.append(
            await add(
                full,
                "volunteer",
                email=_email_for(full),
                kinds=("translation", *likes(2)),
                language=language,
            )
        )

    seniors = []
    for i in range(22):
        full = name(OLDER_FIRST)
        # The first nine have no email: clients of an organisation, entered by its staff.
        if i < 9:
            seniors.append(await add(full, "senior", email=None, org=orgs[i % 3]))
            continue
        email = _login_email("senior") if i == 9 else _email_for(full)
        senior_org = orgs[2] if i % 4 == 0 else None
        seniors.append(
            await add(full, "senior", email=email, login=i == 9, org=senior_org, kinds=likes(1))
        )
    for k, (full, language) in enumerate(MIGRANT_SENIORS):
        used.add(full)
        # Two of them speak little German and have a care provider's staff act for them.
        if k < 2:
            seniors.append(await add(full, "senior", email=None, org=orgs[1], language=language))
        else:
            kinds = ("translation",) if k == 2 else ()
            seniors.append(
                await add(full, "senior", email=_email_for(full), kinds=kinds, language=language)
            )

    with_login = [s for s in seniors[10:] if s.has_login]
    cast = Cast(
        manager=manager,
        professionals=professionals,
        volunteers=volunteers,
        seniors=seniors,
        takers=with_login[:3],
        big_givers=[volunteers[0], volunteers[5], volunteers[11]],
        inactive=volunteers[8],
        pool_clients=[seniors[0], seniors[3]],
        login_senior=seniors[9],
        orgs=orgs,
        districts=districts,
    )
    return cast


# --- Twelve months of help ------------------------------------------------------------------


@dataclass
class Plan:
    """One planned exchange and what happens to it."""

    giver: Person
    receiver: Person
    performed_on: date
    minutes: int
    category: str
    note: str
    outcome: str  # confirmed | assisted | pool | pending | rejected | typo
    recorded_at: datetime
    decided_at: datetime | None = None
    exchange_id: int | None = None


@dataclass
class Donation:
    at: datetime
    donor: Person | None  # None: the city's senior office, from its budget
    minutes: int


@dataclass
class Planner:
    """Plans the year day by day, keeping track of balances so nothing breaks a limit."""

    rng: random.Random
    cast: Cast
    today: date
    now: datetime
    balance: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    pool: int = 0
    plans: list[Plan] = field(default_factory=list)
    last_seen: dict[int, date] = field(default_factory=dict)
    recent: dict[int, int] = field(default_factory=lambda: defaultdict(int))  # received
    donations: list[Donation] = field(default_factory=list)

    @property
    def start(self) -> date:
        return self.today - timedelta(days=365)

    @property
    def helpers(self) -> list[Person]:
        c = self.cast
        return [v for v in c.volunteers if v not in c.big_givers and v is not c.inactive]

    def active_on(self, person: Person, day: date) -> bool:
        return person is not self.cast.inactive or day < self.today - timedelta(days=120)

    def category_for(self, giver: Person, receiver: Person) -> str:
        if giver.member.language != "de" and giver.member.language == receiver.member.language:
            return "translation"
        return self.rng.choice(giver.kinds or ("visits", "shopping", "other"))

    def help(
        self,
        giver: Person,
        receiver: Person,
        day: date,
        *,
        minutes: int | None = None,
        category: str | None = None,
        outcome: str | None = None,
        floor: int = SAFE_MIN,
    ) -> None:
        rng = self.rng
        minutes = minutes or rng.choice(MINUTES)
        category = category or self.category_for(giver, receiver)
        if outcome is None and self.balance[receiver.id] - minutes < floor:
            # The pool keeps a reserve for the clients who can never give back.
            if receiver.member.role != "senior" or self.pool - minutes < POOL_RESERVE:
                return  # nobody can pay for it: it does not happen
            outcome = "pool"
        if outcome == "pool" and self.pool < minutes:
            return
        if self.balance[giver.id] + minutes > SAFE_MAX:
            return
        if outcome is None:
            outcome = "confirmed" if receiver.has_login else "assisted"
        recorded = _at(day + timedelta(days=rng.randint(0, 2)), rng)
        decided = recorded + timedelta(days=rng.randint(1, 4), hours=rng.randint(0, 6))
        if outcome == "assisted":
            decided = recorded
        if outcome in ("confirmed", "pool") and decided > self.now:
            outcome = "pending"  # too recent: nobody has confirmed it yet
        if recorded > self.now:
            return
        if outcome in ("confirmed", "assisted"):
            self.balance[receiver.id] -= minutes
            self.balance[giver.id] += minutes
        elif outcome == "pool":
            self.pool -= minutes
            self.balance[giver.id] += minutes
        self.last_seen[giver.id] = self.last_seen[receiver.id] = day
        if day >= self.today - timedelta(days=90):
            self.recent[receiver.id] += minutes
        self.plans.append(
            Plan(
                giver,
                receiver,
                day,
                minutes,
                category,
                rng.choice(NOTES[category]),
                outcome,
                recorded,
                None if outcome == "pending" else decided,
            )
        )

    def donate(self, day: date, donor: Person | None, minutes: int) -> None:
        if donor is not None:
            if self.balance[donor.id] - minutes < SAFE_MIN:
                return
            self.balance[donor.id] -= minutes
        self.pool += minutes
        self.donations.append(Donation(_at(day, self.rng), donor, minutes))

    def background(self, day: date) -> None:
        """One ordinary piece of help: mostly volunteers for seniors, some seniors giving
        back (visits, translation), some volunteers helping each other."""
        c, rng = self.cast, self.rng
        ordinary = [s for s in c.seniors if s not in c.takers and s not in c.pool_clients]
        if rng.random() < 0.2:
            giver = rng.choice([s for s in ordinary if s.has_login and s.kinds])
        else:
            weights = [
                (20 if v is c.big_givers[1] else 12)
                if v in c.big_givers
                else 1
                if self.active_on(v, day)
                else 0
                for v in c.volunteers
            ]
            giver = rng.choices(c.volunteers, weights)[0]
        if rng.random() < 0.75:
            # Ordinary seniors stay clear of the review's "takes without giving" lines:
            # when they have received a lot, the pool pays (if it can), and lately
            # nobody receives more than a few hours.
            room = [s for s in ordinary if s is not giver and self.recent[s.id] < 4 * 60]
            if not room:
                return
            receiver = rng.choice(room)
            self.help(giver, receiver, day, floor=SENIOR_FLOOR)
        else:
            receiver = rng.choice(
                [v for v in self.helpers if v is not giver and self.active_on(v, day)]
            )
            self.help(giver, receiver, day)

    def year(self) -> None:
        """Everything that happens, in date order (so balances are right on each day)."""
        c, rng, today = self.cast, self.rng, self.today
        agenda: list[tuple[date, int, Callable[[date], None]]] = []

        def on(day: date, action: Callable[[date], None]) -> None:
            if day < today:
                agenda.append((day, len(agenda), action))

        for week in range(52):
            for _ in range(rng.randint(3, 4)):
                on(self.start + timedelta(days=7 * week + rng.randint(0, 6)), self.background)
        # Donations early in the year make the later pool payments possible.
        on(self.start + timedelta(days=45), lambda d: self.donate(d, None, 900))
        for k, giver in enumerate(c.big_givers):
            on(
                self.start + timedelta(days=60 + 30 * k),
                partial(self.donate, donor=giver, minutes=120),
            )
        # Twice a year the network asks everyone with hours to spare to give some to the pool.
        for day in (self.start + timedelta(days=180), self.start + timedelta(days=270)):
            on(day, self._pool_appeal)
        # Two clients who cannot give back: the community pool pays their help.
        for client in c.pool_clients:
            for k in range(4):
                day = self.start + timedelta(days=80 + 80 * k + rng.randint(0, 20))
                on(day, partial(self._from_pool, client))
        # Members who only take: steady help in the last three months, never giving.
        for taker in c.takers:
            for k in range(7):
                on(today - timedelta(days=85 - 12 * k), partial(self._for_taker, taker))
        # The big givers keep giving, lately too.
        for giver in c.big_givers:
            for k in range(5):
                on(today - timedelta(days=85 - 16 * k), partial(self._big_gift, giver))
        # The big givers receive a little now and then.
        for giver in c.big_givers:
            on(self.start + timedelta(days=rng.randint(20, 300)), partial(self._for, giver))
        # The inactive volunteer was busy until four months ago.
        for k in range(6):
            on(today - timedelta(days=300 - 30 * k), self._by_inactive)
        # Everyone else has been active lately: only one member should look inactive.
        for k, person in enumerate([*c.volunteers, *c.seniors]):
            on(today - timedelta(days=84 - k % 70), partial(self._keep_in_touch, person))
        # An exchange nobody confirmed for three weeks.
        on(today - timedelta(days=21), self._stale)
        # One rejected entry, and a wrong one (600 minutes for 60) the manager reverses.
        on(today - timedelta(days=200), self._rejected)
        on(today - timedelta(days=240), self._typo)

        for day, _, action in sorted(agenda, key=lambda item: (item[0], item[1])):
            action(day)

    def _pool_appeal(self, day: date) -> None:
        for v in self.helpers:
            if self.balance[v.id] >= 4 * 60:
                self.donate(day, v, 120)

    def _keep_in_touch(self, person: Person, day: date) -> None:
        c, rng = self.cast, self.rng
        if person is c.inactive or person in c.takers or person in c.pool_clients:
            return
        if self.last_seen.get(person.id, self.start) >= self.today - timedelta(days=80):
            return
        if person.member.role == "volunteer":
            room = [
                s
                for s in c.seniors
                if s not in c.takers and s not in c.pool_clients
                if self.balance[s.id] - 90 >= SENIOR_FLOOR
            ]
            self.help(person, rng_choice(rng, room or self.helpers), day, minutes=90)
        elif self.balance[person.id] - 60 >= SENIOR_FLOOR:
            self.help(rng_choice(rng, self.helpers), person, day, minutes=60)
        else:
            # A senior who has received a lot gives an afternoon of company in return.
            self.help(person, rng_choice(rng, self.helpers), day, minutes=60, category="visits")

    def _big_gift(self, giver: Person, day: date) -> None:
        c = self.cast
        room = [
            p
            for p in [*self.helpers, *c.seniors]
            if p not in c.takers and p not in c.pool_clients and p.has_login
            if self.recent[p.id] < 3 * 60 and self.balance[p.id] - 120 >= SENIOR_FLOOR
        ]
        if room:
            self.help(giver, rng_choice(self.rng, room), day, minutes=120)

    def _from_pool(self, client: Person, day: date) -> None:
        self.help(rng_choice(self.rng, self.helpers), client, day, outcome="pool")

    def _for_taker(self, taker: Person, day: date) -> None:
        minutes = self.rng.choice((90, 120))
        self.help(rng_choice(self.rng, self.helpers), taker, day, minutes=minutes)

    def _for(self, receiver: Person, day: date) -> None:
        self.help(rng_choice(self.rng, self.helpers), receiver, day)

    def _by_inactive(self, day: date) -> None:
        receivers = [s for s in self.cast.seniors[9:] if s not in self.cast.takers]
        self.help(self.cast.inactive, rng_choice(self.rng, receivers), day)

    def _stale(self, day: date) -> None:
        h = self.helpers[1]
        self.help(
            h, self.cast.login_senior, day, minutes=90, category="shopping", outcome="pending"
        )

    def _rejected(self, day: date) -> None:
        self.help(self.helpers[2], self.cast.login_senior, day, outcome="rejected")

    def _typo(self, day: date) -> None:
        receiver = self.cast.seniors[15]
        self.help(self.helpers[3], receiver, day, minutes=600, category="garden", outcome="typo")
        self.help(self.helpers[3], receiver, day, minutes=60, category="garden")


def rng_choice(rng: random.Random, people: list[Person]) -> Person:
    return people[rng.randrange(len(people))]


async def _book_history(session: AsyncSession, cast: Cast, rng: random.Random, today: date) -> None:
    planner = Planner(rng, cast, today, datetime.combine(today, time(7, 0), tzinfo=UTC))
    planner.year()
    pool = await ledger.pool_account(session)
    office = await session.scalar(select(Account).where(Account.organization_id == cast.orgs[2].id))
    assert office is not None

    # Book everything in the order it happened.
    events: list[tuple[datetime, int, str, Plan | Donation]] = []
    for i, plan in enumerate(planner.plans):
        events.append((plan.recorded_at, i, "record", plan))
        if plan.decided_at is not None and plan.outcome != "assisted":
            events.append((plan.decided_at, i, "decide", plan))
    for j, donation in enumerate(planner.donations):
        events.append((donation.at, len(planner.plans) + j, "donate", donation))
    events.sort(key=lambda e: (e[0], e[1]))

    for when, _, what, item in events:
        if isinstance(item, Donation):
            if item.donor is None:
                await ledger.post_transfer(
                    session,
                    from_account_id=id_of(office),
                    to_account_id=id_of(pool),
                    minutes=item.minutes,
                    kind="donation",
                    actor=cast.manager.member,
                    reason="Spende des Seniorenbüros an das Solidaritätskonto",
                    at=when,
                )
            else:
                await exchanges.donate_to_pool(session, item.donor.member, item.minutes, at=when)
        elif what == "record":
            await _record(session, cast, item, when)
        else:
            await _decide(session, cast, item, when)


def _entered_by(cast: Cast, plan: Plan) -> Member:
    """Who types the entry: the giver, or the staff of whoever has no login."""
    if plan.outcome == "assisted":
        return cast.staff_for(plan.receiver)
    if not plan.giver.has_login:
        return cast.staff_for(plan.giver)
    return plan.giver.member


async def _record(session: AsyncSession, cast: Cast, plan: Plan, when: datetime) -> None:
    result = await exchanges.record_exchange(
        session,
        _entered_by(cast, plan),
        giver_id=plan.giver.id,
        receiver_id=plan.receiver.id,
        minutes=plan.minutes,
        performed_on=plan.performed_on,
        category=plan.category,
        note=plan.note,
        today=when.date(),
        at=when,
    )
    plan.exchange_id = result.exchange.id


def _decider(cast: Cast, receiver: Person) -> Member:
    """The receiver confirms; for a client without a login, their organisation's staff."""
    if receiver.has_login:
        return receiver.member
    return cast.staff_for(receiver)


async def _decide(session: AsyncSession, cast: Cast, plan: Plan, when: datetime) -> None:
    assert plan.exchange_id is not None
    if plan.outcome == "pool":
        await exchanges.pay_from_pool(session, cast.manager.member, plan.exchange_id, at=when)
    elif plan.outcome == "rejected":
        await exchanges.reject_exchange(
            session,
            _decider(cast, plan.receiver),
            plan.exchange_id,
            reason="Das war an einem anderen Tag und kürzer, bitte neu eintragen",
            at=when,
        )
    else:
        result = await exchanges.confirm_exchange(
            session, _decider(cast, plan.receiver), plan.exchange_id, at=when
        )
        if plan.outcome == "typo" and result.transfer is not None:
            await exchanges.reverse_exchange_transfer(
                session,
                cast.manager.member,
                id_of(result.transfer),
                reason="Tippfehler: 600 statt 60 Minuten eingetragen",
                # The manager spotted it two days later.
                at=when + timedelta(days=2) if when else None,
            )


# --- The board: open requests and offers ----------------------------------------------------


async def _board(session: AsyncSession, cast: Cast, rng: random.Random, today: date) -> None:
    categories = {c.slug: c.id for c in (await session.exec(select(Category))).all()}
    requests = (
        (cast.seniors[1], "shopping", "Einkauf für die Woche", 1, False),
        (cast.login_senior, "tech", "Hilfe mit dem neuen Handy", 2, True),
        (cast.seniors[14], "accompaniment", "Begleitung zur Augenklinik", 4, True),
        # Nobody has answered this one for five days: the review should notice.
        (cast.seniors[16], "garden", "Hecke schneiden vor dem Winter", 5, False),
        (cast.seniors[4], "forms", "Antrag auf Wohngeld ausfüllen", 2, False),
        (cast.seniors[19], "visits", "Jemand zum Reden am Nachmittag", 8, True),
    )
    helpers = [v for v in cast.volunteers if v is not cast.inactive]
    for owner, slug, title, days_ago, answered in requests:
        day = today - timedelta(days=days_ago)
        actor = _decider(cast, owner)
        request = await board.create_request(
            session,
            actor,
            member_id=owner.id,
            category_id=categories[slug],
            title=title,
            today=day,
        )
        request.created_at = _at(day, rng)
        session.add(request)
        if answered:
            for helper in rng.sample(helpers, rng.randint(1, 2)):
                response = await board.respond(
                    session,
                    helper.member,
                    id_of(request),
                    message="Ich kann gern helfen.",
                    today=day,
                )
                response.created_at = request.created_at + timedelta(hours=rng.randint(2, 30))
                session.add(response)
    offers = (
        ("tech", "Ich erkläre Smartphone und Tablet, mit Geduld"),
        ("garden", "Kleine Gartenarbeiten im Frühjahr und Herbst"),
        ("transport", "Fahrten zu Arztterminen (eigenes Auto)"),
        ("visits", "Vorlesen und Gespräche, gern wöchentlich"),
        ("translation", "Übersetze Briefe und begleite zu Ämtern"),
        ("household", "Kleine Reparaturen im Haushalt"),
    )
    for k, (slug, title) in enumerate(offers):
        helper = next((v for v in helpers[k:] if slug in v.kinds), helpers[k % len(helpers)])
        day = today - timedelta(days=rng.randint(3, 40))
        offer = await board.create_offer(
            session,
            helper.member,
            member_id=helper.id,
            category_id=categories[slug],
            title=title,
            today=day,
        )
        offer.created_at = _at(day, rng)
        session.add(offer)
    await session.flush()


# --- The office and the members' addresses ----------------------------------------------------

STREETS = (
    "Lindenallee", "Marktstraße", "Am Mühlbach", "Rosenweg", "Bergstraße", "Hafenstraße",
    "Eichenweg", "Schulstraße", "Gartenstraße", "Kirchplatz",
)  # fmt: skip
TOWN = "Lindenfeld"
POSTCODE = "34567"


async def _office_and_addresses(session: AsyncSession, cast: Cast) -> None:
    """The office's letterhead, and a postal address for everyone without email (the post
    page writes them letters). Chosen by member id, not drawn from ``rng``: the rest of the
    demo stays the same."""
    settings = await session.get(NetworkSettings, 1) or NetworkSettings()
    settings.network_name = "Zeitbank Lindenfeld"
    settings.office_address = "Nachbarschaftshaus Lindenfeld\nMarktstraße 12\n34567 Lindenfeld"
    settings.office_phone = "04321 98765-0"
    settings.office_hours = "Mo–Do 9–12 Uhr, Di 14–17 Uhr"
    settings.office_contact = cast.manager.member.name
    settings.office_email = f"buero@{EMAIL_DOMAIN}"
    session.add(settings)
    for person in (*cast.seniors, *cast.volunteers):
        member = person.member
        if member.email is None:
            number = id_of(member)
            member.street = f"{STREETS[number % len(STREETS)]} {number % 40 + 1}"
            member.postcode = POSTCODE
            member.town = TOWN
            session.add(member)
    await session.flush()


# --- Entry points ------------------------------------------------------------------------------


async def _a_dispute(session: AsyncSession, cast: Cast, today: date) -> None:
    """Help the demo senior disputes (it took less time), so the demo volunteer's home page
    and the manager's dispute queue show a dispute. No random numbers: the rest of the demo
    stays as the seed makes it."""
    giver = next(v for v in cast.volunteers if v is not cast.inactive)
    senior = cast.login_senior.member
    day = today - timedelta(days=2)
    logged = await exchanges.record_exchange(
        session,
        giver.member,
        giver_id=id_of(giver.member),
        receiver_id=id_of(senior),
        minutes=120,
        performed_on=day,
        category="shopping",
        note="Wocheneinkauf und Apotheke",
        at=datetime.combine(day, time(18, 30), tzinfo=UTC),
    )
    await disputes.open_dispute(
        session,
        senior,
        id_of(logged.exchange),
        reason="length",
        minutes=90,
        note="Wir waren nach anderthalb Stunden fertig.",
        at=datetime.combine(day + timedelta(days=1), time(9, 15), tzinfo=UTC),
    )


async def has_members(session: AsyncSession) -> bool:
    return bool(await session.scalar(select(func.count()).select_from(Member)))


async def seed_demo(
    session: AsyncSession, seed: int = DEFAULT_SEED, *, today: date | None = None
) -> DemoSummary:
    """Fill an empty database with the demo network (in the caller's transaction)."""
    today = today or await network.today(session)
    rng = random.Random(seed)
    cast = await _cast(session, rng, today)
    await _office_and_addresses(session, cast)
    await _book_history(session, cast, rng, today)
    await _board(session, cast, rng, today)
    await _a_dispute(session, cast, today)
    count = lambda model: session.scalar(select(func.count()).select_from(model))  # noqa: E731
    return DemoSummary(
        seed=seed,
        organizations=int(await count(Organization) or 0),
        districts=int(await count(District) or 0),
        members=int(await count(Member) or 0),
        exchanges=int(await count(Exchange) or 0),
        transfers=int(await count(Transfer) or 0),
        logins=demo_logins(),
    )


async def seed_demo_if_empty(url: str, seed: int = DEFAULT_SEED) -> Logins:
    """Seed the demo into the database at ``url`` unless it has members already. Returns the
    demo logins that exist there (none if the database holds some other network)."""
    engine = make_engine(url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            if not await has_members(session):
                await seed_demo(session, seed)
            logins = demo_logins()
            present = []
            for role, email in logins.emails:
                if await members.member_by_email(session, email) is not None:
                    present.append((role, email))
            return Logins(logins.password, present)
    finally:
        await engine.dispose()
