"""Accounts: register, log in and out, settings, sharing with clinicians, administration."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import forms
from .access import MAX_ID, not_found, shared_patients
from .audit import address, record
from .deps import csrf_protect, current_user, get_db, optional_user, render
from .models import ROLES, AuditEvent, Share, User, utcnow
from .security import (
    SESSION_COOKIE,
    code_digest,
    end_session,
    end_sessions,
    hash_password,
    new_invitation_code,
    new_session,
    password_problem,
    verify_password,
)

router = APIRouter(dependencies=[Depends(csrf_protect)])
AUDIT_SHOWN = 200


def _only(user: User, role: str) -> None:
    """Pages of one role are 404 to the others."""
    if user.role != role:
        raise not_found()


def home_url(user: User) -> str:
    return {"patient": f"/p/{user.id}", "clinician": "/clinic", "admin": "/admin"}[user.role]


def local_path(url: str | None) -> str | None:
    """``url`` if it is a path on this site, else None: no scheme or host, and no backslash or
    control character (browsers read "/\\host" as "//host")."""
    if not url or not url.startswith("/") or url.startswith("//") or any(c == "\\" or ord(c) < 32 for c in url):
        return None
    parts = urlsplit(url)
    return url if not parts.scheme and not parts.netloc else None


def _login_response(request: Request, db: Session, user: User, next_url: str | None) -> Response:
    token = new_session(db, user, request.app.state.config.session_hours)
    safe_next = local_path(next_url)
    resp = RedirectResponse(safe_next or home_url(user), status_code=303)
    secure = request.app.state.config.secure_cookies
    resp.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=secure, path="/",
                    max_age=int(request.app.state.config.session_hours * 3600))
    return resp


@router.get("/")
def index(user: User | None = Depends(optional_user)):
    return RedirectResponse(home_url(user) if user else "/login", status_code=303)


@router.get("/register")
def register_form(request: Request):
    return render(request, "register.html")


@router.post("/register")
async def register(request: Request, db: Session = Depends(get_db)):
    f = await request.form()
    try:
        name = forms.text(f.get("name"), "Name", 120, required=True)
        email = forms.email(f.get("email"))
        password = str(f.get("password") or "")
        problem = password_problem(password, email, name)
        if problem:
            raise forms.FormError(problem)
        if password != f.get("password2"):
            raise forms.FormError("the two passwords differ")
    except forms.FormError as err:
        return render(request, "register.html", {"error": str(err), "form": dict(f)}, status=400)
    # The same answer, in the same time, whether or not the address already has an account:
    # registering reveals nothing. The new account logs in like any other.
    password_hash = hash_password(password)
    existing = db.scalar(select(User.id).where(User.email == email))
    if existing is None:
        user = User(email=email, name=name, password_hash=password_hash, role="patient")
        db.add(user)
        db.commit()
        record(db, "register", user.id, where=address(request))
    else:
        record(db, "register", existing, email, "exists", address(request))
    return RedirectResponse("/login?registered=1", status_code=303)


@router.get("/login")
def login_form(request: Request, next: str | None = None, registered: int = 0, expired: int = 0):
    return render(request, "login.html", {"next": next, "registered": registered == 1, "expired": expired == 1})


@router.post("/login")
async def login(request: Request, db: Session = Depends(get_db)):
    f = await request.form()
    email = str(f.get("email") or "").strip().lower()[:254]
    password = str(f.get("password") or "")
    limiter = request.app.state.limiter
    client = address(request)
    user = db.scalar(select(User).where(User.email == email))
    if not limiter.allowed(email, client):
        record(db, "login", user.id if user else None, email, "rate-limited", client)
        wait = limiter.retry_after_s(email, client)
        response = render(request, "login.html", {"error": f"too many failed attempts; wait {wait} s and try again",
                                                  "email": email}, status=429)
        response.headers["Retry-After"] = str(wait)
        return response
    if not verify_password(user, password) or not user.active:
        limiter.failed(email, client)
        record(db, "login", user.id if user else None, email, "failed", client)
        return render(request, "login.html", {"error": "wrong e-mail or password", "email": email,
                                              "next": f.get("next")}, status=401)
    record(db, "login", user.id, email, "ok", client)
    return _login_response(request, db, user, str(f.get("next") or ""))


@router.post("/logout")
def logout(request: Request, user: User | None = Depends(optional_user), db: Session = Depends(get_db)):
    if user is not None:
        record(db, "logout", user.id, where=address(request))
    end_session(db, request.cookies.get(SESSION_COOKIE))
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


@router.get("/settings")
def settings_form(request: Request, user: User = Depends(current_user)):
    return render(request, "settings.html", {}, user=user)


@router.post("/settings")
async def settings_save(request: Request, user: User = Depends(current_user), db: Session = Depends(get_db)):
    f = await request.form()
    user = db.merge(user)
    try:
        name = forms.text(f.get("name"), "Name", 120, required=True)
        onset = forms.day(f.get("onset_date"), "The day symptoms started", required=False)
        new_pw = str(f.get("new_password") or "")
        if new_pw:
            if not verify_password(user, str(f.get("password") or "")):
                raise forms.FormError("the current password is wrong")
            problem = password_problem(new_pw, user.email, user.name)
            if problem:
                raise forms.FormError(problem)
    except forms.FormError as err:
        values = {"name": str(f.get("name") or ""), "onset_date": str(f.get("onset_date") or "")}
        return render(request, "settings.html", {"error": str(err), "values": values}, status=400, user=user)
    user.name, user.onset_date = name, onset
    user.keep_video = f.get("keep_video") == "on"
    if new_pw:
        user.password_hash = hash_password(new_pw)
        end_sessions(db, user, keep=request.cookies.get(SESSION_COOKIE))
    db.commit()
    return RedirectResponse(f"/settings?saved={'password' if new_pw else 'settings'}", status_code=303)


# ---- sharing: a clinician invites, the patient accepts ------------------------------------------

@router.get("/sharing")
def sharing(request: Request, user: User = Depends(current_user), db: Session = Depends(get_db)):
    _only(user, "patient")
    shares = db.scalars(select(Share).where(
        (Share.patient_email == user.email) | (Share.patient_id == user.id)).order_by(Share.created_at.desc())).all()
    return render(request, "sharing.html", {"shares": shares}, user=user)


@router.post("/sharing/{share_id}/{action}")
async def sharing_decide(share_id: int, action: str, request: Request, user: User = Depends(current_user),
                         db: Session = Depends(get_db)):
    share = db.get(Share, share_id) if 0 < share_id <= MAX_ID else None
    if user.role != "patient" or share is None or (share.patient_email != user.email and share.patient_id != user.id):
        raise not_found()
    if action in ("allow-changes", "read-only"):
        if share.status != "accepted":
            raise HTTPException(400, f"this invitation is {share.status}; accept it first")
        share.can_write = action == "allow-changes"
        db.commit()
        return RedirectResponse("/sharing?saved=grant", status_code=303)
    allowed = {"accept": ("pending", "accepted"), "decline": ("pending", "declined"),
               "revoke": ("accepted", "revoked")}
    if action not in allowed or share.status != allowed[action][0]:
        raise HTTPException(400, f"this invitation is {share.status}; it cannot be {action}ed")
    if action == "accept":
        limiter, key = request.app.state.limiter, f"invitation:{share.id}"
        if not limiter.allowed(key, key):
            raise HTTPException(429, "too many wrong codes; wait a minute and try again")
        code = str((await request.form()).get("code") or "")
        if share.code_hash is None or not secrets.compare_digest(code_digest(code), share.code_hash):
            limiter.failed(key, key)
            raise HTTPException(400, "that code is not the one your clinician gave you; ask them for it")
    share.status, share.decided_at = allowed[action][1], utcnow()
    share.patient_id = user.id
    share.can_write = False  # a new acceptance starts read only
    db.commit()
    return RedirectResponse("/sharing?saved=shared", status_code=303)


def _clinic_page(request: Request, db: Session, user: User, q: str = "", only: str = "",
                 sort: str = "attention", **extra):
    from .workspace import FILTERS, SORTS, clinic_rows

    only = only if only in FILTERS else ""
    sort = sort if sort in SORTS else "attention"
    q = q[:120]
    return render(request, "clinic.html", {"rows": clinic_rows(db, user, q, only, sort), "pending": _pending(db, user),
                                           "q": q, "only": only, "sort": sort, "sorts": SORTS, "filters": FILTERS,
                                           "n_patients": len(shared_patients(db, user)), **extra}, user=user)


@router.get("/clinic")
def clinic(request: Request, user: User = Depends(current_user), db: Session = Depends(get_db),
           q: str = "", only: str = "", sort: str = "attention"):
    """The clinician's patient list: latest results, trend since the last look, urgency and
    what is new, sorted (``sort``) and filtered (``only``, and ``q`` on name or e-mail)."""
    _only(user, "clinician")
    return _clinic_page(request, db, user, q, only, sort)


INVITES_PER_DAY = 20  # invitations (new or renewed) one clinician may send in a day


@router.post("/clinic/invite")
async def clinic_invite(request: Request, user: User = Depends(current_user), db: Session = Depends(get_db)):
    """Invite a patient by e-mail, with a one-time code the clinician hands them (shown once).
    Inviting the same address again renews the code."""
    _only(user, "clinician")
    f = await request.form()
    try:
        email = forms.email(f.get("email"))
    except forms.FormError as err:
        raise HTTPException(400, str(err)) from None
    if not request.app.state.limiter.spend(f"{INVITES_PER_DAY}/day", "invite", str(user.id)):
        raise HTTPException(429, f"you have sent {INVITES_PER_DAY} invitations today; try again tomorrow")
    share = db.scalar(select(Share).where(Share.clinician_id == user.id, Share.patient_email == email,
                                          Share.status.in_(("pending", "accepted"))))
    if share is not None and share.status == "accepted":
        return RedirectResponse("/clinic", status_code=303)
    code = new_invitation_code()
    if share is None:
        share = Share(clinician_id=user.id, patient_email=email)
        db.add(share)
    share.code_hash, share.created_at = code_digest(code), utcnow()
    db.commit()
    # Same answer whether or not the address has an account: nothing is revealed.
    return _clinic_page(request, db, user, new_code=code, new_email=email)


def _pending(db: Session, user: User) -> list[Share]:
    return db.scalars(select(Share).where(Share.clinician_id == user.id, Share.status == "pending")).all()


# ---- administration: accounts only, no health data --------------------------------------------

@router.get("/admin")
def admin(request: Request, user: User = Depends(current_user), db: Session = Depends(get_db)):
    _only(user, "admin")
    users = db.scalars(select(User).order_by(User.created_at)).all()
    counts = dict(db.execute(select(User.role, func.count()).group_by(User.role)).all())
    events = db.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(AUDIT_SHOWN)).all()
    return render(request, "admin.html", {"users": users, "counts": counts, "roles": ROLES, "events": events,
                                          "emails": {u.id: u.email for u in users}}, user=user)


@router.post("/admin/users/{uid}")
async def admin_update(uid: int, request: Request, user: User = Depends(current_user), db: Session = Depends(get_db)):
    _only(user, "admin")
    target = db.get(User, uid) if 0 < uid <= MAX_ID else None
    if target is None:
        raise not_found()
    f = await request.form()
    try:
        role = forms.choice(f.get("role"), "Role", ROLES)
    except forms.FormError as err:
        raise HTTPException(400, str(err)) from None
    if target.id == user.id and (role != "admin" or f.get("active") != "on"):
        raise HTTPException(400, "you cannot remove your own admin role or disable yourself")
    target.role, target.active = role, f.get("active") == "on"
    if not target.active:
        end_sessions(db, target)
    db.commit()
    return RedirectResponse("/admin", status_code=303)
