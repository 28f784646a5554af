"""Words on the screens: Bahasa Indonesia by default, English on request; times in WIB."""

from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from schemas.enums import IncidentCategory, IncidentStatus, RiskRating
from schemas.ops import AlertKind

Lang = Literal["id", "en"]
LANGS: tuple[Lang, ...] = ("id", "en")
DEFAULT_LANG: Lang = "id"
WIB = ZoneInfo("Asia/Jakarta")

_WORDS: dict[str, tuple[str, str]] = {
    # Screen furniture.
    "title": ("POSKO PENGAMANAN PILKADA 2024", "ELECTION SECURITY COMMAND POST 2024"),
    "unit": ("Polres OKU Timur", "Polres OKU Timur"),
    "wall_title": ("Dinding Posko", "Command post wall"),
    "commander_title": ("Komandan", "Commander"),
    "live": ("LANGSUNG", "LIVE"),
    # The commander's time control (dashboard/replay.py, assets/live/85-replay.js).
    "replay_title": ("Putar ulang", "Replay"),
    "replay_slider": ("Geser ke jam yang ingin dilihat", "Slide to the time to see"),
    "replay_time": ("Jam (WIB)", "Time (WIB)"),
    "replay_seek": ("Lihat", "Show"),
    "replay_play": ("Putar maju", "Play forward"),
    "replay_pause": ("Jeda", "Pause"),
    "replay_rate": ("Kecepatan putar", "Play speed"),
    "replay_live": ("Kembali ke langsung", "Back to live"),
    "replay_mode": ("PUTAR ULANG · {at} WIB", "REPLAY · {at} WIB"),
    "replay_error": ("gagal memuat, coba lagi", "could not load, try again"),
    "connecting": ("MENYAMBUNG…", "CONNECTING…"),
    "data_age": ("data {age}", "data {age}"),
    "lost_banner": (
        "SAMBUNGAN TERPUTUS — gambar ini TIDAK terkini (data terakhir {age}). Menyambung ulang…",
        "CONNECTION LOST — this picture is NOT current (last data {age}). Reconnecting…",
    ),
    "denied_banner": (
        "AKSES DITOLAK — buka ulang tautan masuk dari admin.",
        "ACCESS DENIED — open the sign-in link from the admin again.",
    ),
    "ended_banner": (
        "AKSES BERAKHIR — sudah keluar, atau tautan layar ini dicabut. Membuka halaman masuk…",
        "ACCESS ENDED — signed out, or this screen's link was revoked. Opening the sign-in page…",
    ),
    "exercise": ("LATIHAN {label}", "EXERCISE {label}"),
    "map": ("Peta kamtibmas TPS", "TPS security map"),
    "timeline": ("Linimasa semua TPS (fase)", "Timeline of every TPS (phase)"),
    "progress": ("Fase TPS per kecamatan", "TPS phase per kecamatan"),
    "day": ("Fase sepanjang hari", "Phases over the day"),
    "log": ("Log kejadian", "Event log"),
    "legend_situation": ("Situasi", "Situation"),
    "legend_phase": ("Fase", "Phase"),
    "legend_incident": ("Insiden (ukuran = tingkat)", "Incident (size = severity)"),
    "problems": (
        "tanda: waspada · gangguan · tidak terpantau",
        "marks: alert · disturbance · not seen",
    ),
    # Counters.
    "c_tps": ("TPS", "TPS"),
    "c_stale": ("Tidak terpantau", "Not seen"),
    "c_stale_sub": ("lewat batas waktu lapor", "past reporting grace"),
    "c_incidents": ("Insiden terbuka", "Open incidents"),
    "c_silent": ("Petugas senyap", "Silent officers"),
    "c_silent_sub": ("> 30 mnt · dari {n}", "> 30 min · of {n}"),
    "c_waspada": ("Waspada", "Alert"),
    "c_gangguan": ("Gangguan", "Disturbance"),
    "sev": ("T{n}", "S{n}"),
    # Hover and panels.
    "h_desa": ("Desa", "Desa"),
    "h_kecamatan": ("Kec.", "Kec."),
    "h_phase": ("Fase", "Phase"),
    "h_situation": ("Situasi", "Situation"),
    "h_risk": ("Kerawanan", "Risk"),
    "h_seen": ("Terakhir terlihat", "Last seen"),
    "h_by": ("oleh NRP", "by NRP"),
    "h_claim": ("Klaim tahap", "Claimed phase"),
    "claim_text": (
        "{phase}, dilaporkan NRP {nrp} (tidak ditugaskan di TPS ini) pukul {time}",
        "{phase}, reported by NRP {nrp} (not assigned to this TPS) at {time}",
    ),
    "h_corrected": ("Dikoreksi komandan", "Corrected by a commander"),
    "h_never": ("belum pernah lapor", "never reported"),
    "h_voters": ("Pemilih", "Voters"),
    "h_officers": ("Petugas", "Officers"),
    "wib": ("WIB", "WIB"),
    # Relative times.
    "ago_s": ("{n} dtk lalu", "{n} s ago"),
    "ago_m": ("{n} mnt lalu", "{n} min ago"),
    "ago_h": ("{n} jam {m} mnt lalu", "{n} h {m} min ago"),
    # Log lines.
    "log_phase": ("{tps} · {before} → {after}", "{tps} · {before} → {after}"),
    "log_situation": ("{tps} · {before} → {after}", "{tps} · {before} → {after}"),
    "log_incident": ("T{severity} {category} · {tps}", "S{severity} {category} · {tps}"),
    "log_silence": ("{tps} · tidak terpantau > {grace} mnt", "{tps} · not seen > {grace} min"),
    "log_by": ("NRP {nrp}", "NRP {nrp}"),
    "log_empty": ("Belum ada kejadian.", "No events yet."),
    # Commander.
    "f_kecamatan": ("Kecamatan", "Kecamatan"),
    "f_desa": ("Desa / kelurahan", "Desa / kelurahan"),
    "f_phase": ("Fase", "Phase"),
    "f_situation": ("Situasi", "Situation"),
    "f_risk": ("Kerawanan", "Risk rating"),
    "f_colour": ("Warnai peta menurut", "Colour the map by"),
    "f_all": ("Semua", "All"),
    "f_search": ("Cari kode TPS, nama desa atau NRP", "Search TPS code, desa name or NRP"),
    "f_go": ("Cari", "Find"),
    "f_filters": ("Saring", "Filter"),
    "search_none": ("Tidak ditemukan: {q}", "Not found: {q}"),
    "search_many": ("{n} TPS cocok; dibuka: {code}", "{n} TPS match; opened: {code}"),
    "matches": ("{n} dari {total} TPS tampil", "{n} of {total} TPS shown"),
    "detail": ("TPS terpilih", "Selected TPS"),
    "detail_hint": (
        "Klik TPS di peta atau cari untuk melihat linimasa dan kejadiannya.",
        "Click a TPS on the map or search to see its timeline and events.",
    ),
    "events": ("Kejadian (terbaru di atas)", "Events (newest first)"),
    "no_events": ("Belum ada kejadian untuk TPS ini.", "No events for this TPS yet."),
    "ev_ping": ("Laporan", "Report"),
    "ev_incident": ("Insiden", "Incident"),
    "incidents": ("Insiden", "Incidents"),
    "no_incidents": ("Tidak ada insiden terbuka.", "No open incidents."),
    "reports": ("{n} laporan", "{n} reports"),
    "resolved_waiting": ("Selesai — menunggu ditutup", "Resolved — waiting to be closed"),
    "assignee": ("Ditugaskan ke {who}", "Dispatched to {who}"),
    "a_accept": ("Terima", "Acknowledge"),
    "a_dispatch": ("Tugaskan", "Dispatch"),
    "a_resolve": ("Selesai", "Resolve"),
    "a_close": ("Tutup", "Close"),
    "a_note": ("Catatan", "Note"),
    "a_merge": ("Gabung", "Merge"),
    "a_split": ("Pisah", "Split"),
    "a_history": ("Riwayat", "History"),
    "a_ack": ("Tandai dilihat", "Acknowledge"),
    "a_silence": ("Bisukan", "Silence"),
    "a_confirm": ("Konfirmasi tahap", "Confirm phase"),
    "a_correct": ("Koreksi TPS", "Correct TPS"),
    "a_send": ("Kirim", "Send"),
    "a_cancel": ("Batal", "Cancel"),
    "d_officer": ("NRP petugas", "Officer NRP"),
    "d_unit": ("atau kode satuan", "or unit code"),
    "d_note": ("Catatan (boleh kosong)", "Note (optional)"),
    "d_text": ("Catatan", "Note"),
    "d_merge_into": ("Gabungkan insiden ini ke dalam:", "Merge this incident into:"),
    "d_split_report": (
        "Pindahkan laporan ini ke insiden baru:",
        "Move this report to a new incident:",
    ),
    "d_minutes": ("Lama", "For"),
    "d_until_clear": ("sampai pulih", "until it clears"),
    "d_steps": ("Langkah", "Steps"),
    "d_reports": ("Laporan", "Reports"),
    "d_working": ("Mengirim…", "Sending…"),
    "d_done": ("Tersimpan.", "Saved."),
    "d_phase": ("Tahap", "Phase"),
    "d_situation": ("Situasi", "Situation"),
    "d_unchanged": ("tetap seperti sekarang", "as it is now"),
    "d_reason": ("Alasan (wajib, masuk jejak audit)", "Reason (required, goes to the audit trail)"),
    "adm_ppk": ("Tempat PPK per kecamatan", "PPK place per kecamatan"),
    "adm_ppk_hint": (
        "Tujuan kotak suara dari TPS; perkiraan tiba dihitung dari jaraknya. Tanpa isian: titik "
        "kecamatan dari registri.",
        "Where the boxes go from each TPS; the expected arrival is measured to it. Unset: the "
        "kecamatan's point from the registry.",
    ),
    "adm_ppk_kecamatan": ("Kecamatan", "Kecamatan"),
    "adm_ppk_name": ("Nama tempat", "Place name"),
    "adm_ppk_lat": ("Lintang", "Latitude"),
    "adm_ppk_lon": ("Bujur", "Longitude"),
    "adm_ppk_default": ("bawaan registri", "registry default"),
    "adm_ppk_set": ("diubah", "set"),
    "adm_ppk_save": ("Simpan tempat PPK", "Save the PPK place"),
    "refused": ("Ditolak: {reason}", "Refused: {reason}"),
    # An officer's SOS (the band at the top of the wall and the commander's view).
    "sos_title": ("SOS", "SOS"),
    "sos_ack": ("Terima SOS", "Acknowledge SOS"),
    "sos_sound_off": (
        "suara mati — klik untuk menyalakan",
        "sound off — click to turn it on",
    ),
    "sos_position": ("posisi {lat}, {lon}", "position {lat}, {lon}"),
    "sos_no_position": ("lokasi tidak diketahui", "position unknown"),
    "sos_unknown": ("petugas tidak dikenal", "unknown officer"),
    # Photos of an incident's reports.
    "photo_open": ("Buka foto ukuran penuh", "Open the full photo"),
    "photo_alt": ("Foto {n} insiden #{id}", "Photo {n} of incident #{id}"),
    "alerts": ("Peringatan", "Alerts"),
    "no_alerts": ("Tidak ada peringatan terbuka.", "No open alerts."),
    "alerts_more": ("+{n} lagi", "+{n} more"),
    "alert_held": ("{n} tertahan di bawahnya", "{n} held under it"),
    "alert_acked": ("dilihat {who}", "seen by {who}"),
    "alert_silenced": ("dibisukan {who} s.d. {until}", "silenced by {who} until {until}"),
    "alert_silenced_clear": ("dibisukan {who} sampai pulih", "silenced by {who} until it clears"),
    "alert_since": ("sejak {at} WIB", "since {at} WIB"),
    "system": ("Server posko", "Command post server"),
    "platform_ok": (
        "Server sehat · antrean {queue} · simpan terakhir {commit} · jeda {lag} ms",
        "Server healthy · queue {queue} · last save {commit} · lag {lag} ms",
    ),
    "platform_slow": (
        "Server lambat · antrean {queue} · simpan terakhir {commit} · jeda {lag} ms",
        "Server slow · queue {queue} · last save {commit} · lag {lag} ms",
    ),
    "platform_stalled": (
        "Server macet: {queue} laporan menunggu disimpan",
        "Server stuck: {queue} reports waiting to be saved",
    ),
    "platform_down": ("Server tidak menjawab", "Server not answering"),
    "platform_never": ("belum ada", "none yet"),
    "logout": ("Keluar", "Sign out"),
    "admin": ("Admin", "Admin"),
    # Sign-in form.
    "login_title": ("Masuk ke Posko", "Sign in to Posko"),
    "login_username": ("Nama pengguna", "Username"),
    "login_password": ("Kata sandi", "Password"),
    "login_submit": ("Masuk", "Sign in"),
    "login_wrong": ("Nama pengguna atau kata sandi salah.", "Wrong username or password."),
    "login_waiting": (
        "Terlalu banyak kata sandi salah untuk akun ini. Coba lagi dalam {seconds} detik.",
        "Too many wrong passwords for this account. Try again in {seconds} s.",
    ),
    "login_missing": ("Isi nama pengguna dan kata sandi.", "Enter username and password."),
    "login_throttled": (
        "Terlalu banyak percobaan gagal dari perangkat ini. Coba lagi dalam {minutes} menit.",
        "Too many failed attempts from this device. Try again in {minutes} min.",
    ),
    "login_failed": ("Tidak bisa masuk: {reason}", "Cannot sign in: {reason}"),
    "login_kiosk": (
        "Layar dinding posko: buka tautan masuk dari admin.",
        "Command post wall: open the sign-in link from the admin.",
    ),
    # Token links (/login?token=...).
    "link_title": ("Tautan masuk", "Sign-in link"),
    "link_invalid": ("Tautan tidak berlaku ({reason}).", "This link is not valid ({reason})."),
    "link_device": (
        "Token perangkat tidak bisa membuka dasbor.",
        "A device token cannot open the dashboard.",
    ),
    # Admin page.
    "forbidden_title": ("Akses ditolak", "Access denied"),
    "forbidden_admin": (
        "Halaman ini hanya untuk peran admin. Anda masuk sebagai {who} ({role}).",
        "This page is for the admin role only. You are signed in as {who} ({role}).",
    ),
    "back": ("Kembali ke dasbor", "Back to the dashboard"),
    "adm_title": ("Administrasi Posko", "Posko administration"),
    "adm_users": ("Pengguna", "Users"),
    "adm_new_user": ("Pengguna baru", "New user"),
    "adm_full_name": ("Nama lengkap", "Full name"),
    "adm_role": ("Peran", "Role"),
    "adm_area": ("Wilayah (kode, boleh kosong)", "Area (code, optional)"),
    "adm_active": ("Aktif", "Active"),
    "adm_locked": ("Tunggu s.d.", "Waits until"),
    "adm_unlock": ("Buka", "Unlock"),
    "adm_unlocked": ("Boleh masuk lagi sekarang.", "May sign in again now."),
    "adm_scope": ("Wilayah {area}", "Area {area}"),
    "adm_scope_national": ("Nasional", "National"),
    "adm_last_login": ("Terakhir masuk", "Last sign-in"),
    "adm_create": ("Buat", "Create"),
    "adm_devices": ("Token perangkat petugas", "Officers' device tokens"),
    "adm_nrp": ("NRP petugas", "Officer NRP"),
    "adm_name": ("Nama", "Name"),
    "adm_issue": ("Terbitkan", "Issue"),
    "adm_kiosks": ("Tautan layar dinding (kiosk)", "Wall display (kiosk) links"),
    "adm_next": ("Halaman", "Page"),
    "adm_prefix": ("Awalan", "Prefix"),
    "adm_created": ("Dibuat", "Created"),
    "adm_revoke": ("Cabut", "Revoke"),
    "adm_revoked": ("Dicabut.", "Revoked."),
    "adm_disable": ("Nonaktifkan", "Disable"),
    "adm_enable": ("Aktifkan", "Enable"),
    "adm_once": (
        "Salin sekarang — rahasia ini hanya ditampilkan sekali:",
        "Copy it now — this secret is shown only once:",
    ),
    "adm_none": ("Belum ada.", "None yet."),
    "adm_saved": ("Tersimpan.", "Saved."),
    "adm_enrol": ("Pendaftaran HP petugas", "Officers' phone enrolment"),
    "adm_enrol_hint": (
        "Satu kode QR per petugas, berlaku sekali sampai kedaluwarsa. Kode lama petugas itu yang "
        "belum dipakai tidak berlaku lagi; mendaftar ulang mencabut HP lamanya.",
        "One QR code per officer, good once until it expires. That officer's older unused codes "
        "stop working; enrolling again revokes the officer's previous phone.",
    ),
    "adm_enrol_polsek": ("Polsek / satuan", "Polsek / unit"),
    "adm_enrol_all": ("Semua petugas wilayah ini", "Every officer of this area"),
    "adm_enrol_nrp": ("atau satu NRP", "or one NRP"),
    "adm_enrol_hours": ("Berlaku (jam)", "Valid for (hours)"),
    "adm_enrol_print": ("Cetak lembar", "Print sheet"),
    "adm_enrol_made": (
        "Lembar dibuka di jendela baru: cetak, lalu simpan seperti kunci.",
        "The sheet opened in a new window: print it, then keep it like a key.",
    ),
    "adm_senders": ("Nomor WA/SMS dan Telegram petugas", "Officers' WhatsApp/SMS and Telegram"),
    "adm_senders_hint": (
        "Laporan dari nomor atau chat ini dicatat atas nama petugasnya, tidak pernah dari nama "
        "dalam pesan. Petugas juga bisa mengirim DAFTAR dan 6 angka dari lembar pendaftaran.",
        "Reports from this number or chat count for its officer, never for a name in the message. "
        "Officers may also send DAFTAR and the 6 digits from their enrolment sheet.",
    ),
    "adm_sender_kind": ("Jenis", "Kind"),
    "adm_sender_phone": ("Nomor HP (WA/SMS)", "Phone number (WhatsApp/SMS)"),
    "adm_sender_telegram": ("Chat Telegram", "Telegram chat"),
    "adm_sender_address": ("Nomor / id chat", "Number / chat id"),
    "adm_sender_link": ("Hubungkan", "Link"),
    "adm_sender_show": ("Lihat", "Show"),
    "adm_sender_by": ("Oleh", "By"),
    "adm_unit": ("Satuan", "Unit"),
    "adm_state": ("Status", "State"),
    "adm_expires": ("Berlaku s.d.", "Valid until"),
    "adm_state_waiting": ("menunggu", "waiting"),
    "adm_state_used": ("terpakai", "used"),
    "adm_state_expired": ("kedaluwarsa", "expired"),
    "adm_state_revoked": ("dicabut", "revoked"),
    "silent": ("Petugas senyap", "Silent officers"),
    # Officers on the map (backend/positions, dashboard/positions.py).
    "officers_layer": ("Posisi petugas", "Officers' positions"),
    "officers_show": ("Tampilkan petugas di peta", "Show officers on the map"),
    "officers_count": (
        "{fresh} petugas terkini, {stale} lama (> {minutes} mnt)",
        "{fresh} officers current, {stale} old (> {minutes} min)",
    ),
    "trail_of": ("Jejak hari ini", "Today's trail"),
    "trail_none": ("Pilih petugas…", "Pick an officer…"),
    "trail_points": ("{n} titik hari ini", "{n} fixes today"),
    "battery": ("baterai {n}%", "battery {n}%"),
    "position_stale": ("posisi lama", "old position"),
    "tracked": ("Petugas terlacak per kecamatan", "Officers tracked per kecamatan"),
    "tracked_none": ("Belum ada posisi petugas terkini.", "No current officer positions yet."),
    "no_silent": (
        "Semua petugas melapor dalam 30 menit terakhir.",
        "Every officer reported in the last 30 minutes.",
    ),
    # The chain of custody of the ballot boxes (dashboard/custody.py).
    "custody": ("Kotak suara ke PPK", "Ballot boxes to the PPK"),
    "custody_map": ("kotak di jalan (peta)", "boxes on the road (map)"),
    "custody_none": ("Belum ada kotak disegel.", "No boxes sealed yet."),
    "custody_sealed": ("disegel", "sealed"),
    "custody_on_road": ("di jalan", "on the road"),
    "custody_received": ("diterima PPK", "received"),
    "custody_timeline": ("Kotak suara", "Ballot boxes"),
    "custody_no_steps": ("Belum ada langkah pengawalan kotak.", "No custody steps yet."),
    "custody_expected": ("Perkiraan tiba di {ppk}: {at} WIB", "Expected at {ppk}: {at} WIB"),
    "custody_seals": ("Segel: {v}", "Seals: {v}"),
    "custody_seal_photo": ("Foto segel (buka ukuran asli)", "Photo of the seals (open full size)"),
    "custody_vehicle": ("Kendaraan: {v}", "Vehicle: {v}"),
    "custody_escorts": ("Pengawal: {v}", "Escorts: {v}"),
    "custody_ba": ("BA {ba}, penerima {name}", "BA {ba}, received by {name}"),
    "custody_no_ba": ("TANPA nomor BA, penerima {name}", "NO BA number, received by {name}"),
    "custody_where": ("di {lat}, {lon}", "at {lat}, {lon}"),
    "custody_box_hover": (
        "Kotak {tps}<br>berangkat {dep} WIB, perkiraan tiba {due} WIB",
        "Boxes {tps}<br>left {dep} WIB, expected {due} WIB",
    ),
    "custody_overdue": ("TERLAMBAT", "OVERDUE"),
    "step_segel": ("Disegel", "Sealed"),
    "step_berangkat": ("Berangkat ke PPK", "Left for the PPK"),
    "step_tiba": ("Tiba di PPK", "Arrived at the PPK"),
    "step_serah_terima": ("Serah terima", "Handed over"),
    "language": ("Bahasa", "Language"),
    "colour_situation": ("Situasi", "Situation"),
    "colour_phase": ("Fase", "Phase"),
    "flags": ("catatan", "flags"),
    # The national rollup page (/nasional).
    "national_title": ("Rekap nasional", "National rollup"),
    "national": ("Nasional", "National"),
    "n_level_province": ("Provinsi", "Province"),
    "n_level_kabupaten": ("Kabupaten / kota", "Kabupaten / city"),
    "n_level_kecamatan": ("Kecamatan", "Kecamatan"),
    "n_tps": ("TPS", "TPS"),
    "n_progress": ("Progres fase", "Phase progress"),
    "n_gangguan": ("Gangguan", "Disturbance"),
    "n_not_seen": ("Tidak terpantau", "Not seen"),
    "n_behind": ("Terlambat", "Behind schedule"),
    "n_waspada": ("Waspada", "Alert"),
    "n_ditunda": ("Ditunda", "Postponed"),
    "n_incidents": ("Insiden terbuka (T1-T4)", "Open incidents (S1-S4)"),
    "n_open_map": ("Buka peta langsung", "Open live map"),
    "n_map": ("peta", "map"),
    "n_order": (
        "Urutan: gangguan, tidak terpantau, insiden berat, terlambat, insiden, waspada, ditunda.",
        "Order: disturbance, not seen, severe incidents, behind schedule, incidents, alert, "
        "postponed.",
    ),
    "n_refused": (
        "Wilayah {area} di luar wilayah kredensial Anda; yang tampil wilayah Anda sendiri.",
        "Area {area} is outside your credential's area; your own area is shown instead.",
    ),
    "n_updated": ("diperbarui {time} WIB", "updated {time} WIB"),
    "n_empty": ("Belum ada TPS di wilayah ini.", "No TPS in this area yet."),
    "n_too_many": (
        "Wilayah ini memuat {n} TPS — terlalu banyak untuk satu peta langsung. Buka rekap.",
        "This area holds {n} TPS — too many for one live map. Open the rollup.",
    ),
    # /laporan: situation reports.
    "r_title": ("Laporan situasi", "Situation reports"),
    "r_link": ("Laporan situasi", "Situation reports"),
    "r_back": ("Kembali ke peta", "Back to the map"),
    "r_list": ("Laporan", "Reports"),
    "r_none": ("Belum ada laporan.", "No reports yet."),
    "r_draft_now": ("Susun laporan sekarang", "Draft a report now"),
    "r_kind_hourly": ("per jam", "hourly"),
    "r_kind_on_demand": ("atas permintaan", "on demand"),
    "r_kind_daily": ("harian", "daily"),
    "r_status_draft": ("konsep", "draft"),
    "r_status_signed": ("ditandatangani", "signed"),
    "r_remarks": ("Catatan komandan", "Commander's remarks"),
    "r_plan": ("Rencana periode berikutnya", "Plan for the next period"),
    "r_save": ("Simpan", "Save"),
    "r_saved": ("Tersimpan.", "Saved."),
    "r_sign_title": ("Tanda tangan", "Sign-off"),
    "r_name": ("Nama", "Name"),
    "r_rank": ("Pangkat", "Rank"),
    "r_nrp": ("NRP", "NRP"),
    "r_sign": ("Tanda tangani", "Sign"),
    "r_signed_by": (
        "Ditandatangani {rank} {name} (NRP {nrp}) pukul {time} WIB — terkunci. SHA-256 {sha}",
        "Signed by {rank} {name} (NRP {nrp}) at {time} WIB — frozen. SHA-256 {sha}",
    ),
    "r_revise": ("Buat versi baru", "Make a new version"),
    "r_drafted": ("Laporan {id} disusun.", "Report {id} drafted."),
    "r_need_area": (
        "Pilih kabupaten (?area=16.08) untuk menyusun laporan.",
        "Choose a kabupaten (?area=16.08) to draft a report.",
    ),
    "r_forbidden": ("Peran Anda tidak boleh melakukan ini.", "Your role may not do this."),
    "r_sign_missing": (
        "Isi nama, pangkat dan NRP (8-18 angka).",
        "Fill in name, rank and NRP (8-18 digits).",
    ),
    "r_changed": (
        "Laporan berubah sejak ditampilkan (disusun ulang atau diubah orang lain): "
        "periksa, lalu ulangi.",
        "The report changed since it was shown (re-drafted or edited by someone else): "
        "check it, then try again.",
    ),
    "r_frozen": (
        "Laporan sudah ditandatangani dan terkunci.",
        "The report is signed and frozen.",
    ),
    # Exports (dashboard/exports.py): the "Unduh" menu of the commander's view and /admin.
    "exp_menu": ("Unduh", "Download"),
    "exp_hint": (
        "Data wilayah Anda, waktu dalam WIB; CSV untuk olah data, XLSX untuk Excel.",
        "Your area's data, times in WIB; CSV for analysis, XLSX for Excel.",
    ),
    "exp_tps": ("Status TPS", "TPS states"),
    "exp_timeline": ("Linimasa TPS", "TPS timeline"),
    "exp_incidents": ("Insiden (laporan & langkah)", "Incidents (reports & steps)"),
    "exp_incident_reports": ("Laporan insiden", "Incident reports"),
    "exp_incident_steps": ("Langkah insiden", "Incident steps"),
    "exp_alerts": ("Peringatan", "Alerts"),
    "exp_positions": ("Posisi petugas", "Officers' positions"),
    "exp_audit": ("Jejak audit", "Audit trail"),
}

PHASE_WORDS: dict[str, tuple[str, str]] = {
    "belum": ("Belum lapor", "No report yet"),
    "logistik_tiba": ("Logistik tiba", "Logistics arrived"),
    "persiapan": ("Persiapan", "Preparation"),
    "pemungutan": ("Pemungutan", "Voting"),
    "penghitungan": ("Penghitungan", "Counting"),
    "selesai_hitung": ("Selesai hitung", "Count finished"),
    "kotak_dikawal": ("Kotak dikawal", "Boxes escorted"),
    "diterima_ppk": ("Diterima PPK", "Received by PPK"),
    "ditunda": ("Ditunda", "Postponed"),
}

SITUATION_WORDS: dict[str, tuple[str, str]] = {
    "belum": ("Belum lapor", "No report yet"),
    "aman": ("Aman", "Safe"),
    "waspada": ("Waspada", "Alert"),
    "gangguan": ("Gangguan", "Disturbance"),
    "stale": ("Tidak terpantau", "Not seen"),
}

RISK_WORDS: dict[str, tuple[str, str]] = {
    RiskRating.KURANG_RAWAN.value: ("Kurang rawan", "Low risk"),
    RiskRating.RAWAN.value: ("Rawan", "At risk"),
    RiskRating.SANGAT_RAWAN.value: ("Sangat rawan", "High risk"),
}

CATEGORY_WORDS: dict[str, tuple[str, str]] = {
    IncidentCategory.KERICUHAN.value: ("Kericuhan", "Unrest"),
    IncidentCategory.UNJUK_RASA.value: ("Unjuk rasa", "Protest"),
    IncidentCategory.POLITIK_UANG.value: ("Politik uang", "Vote buying"),
    IncidentCategory.INTIMIDASI.value: ("Intimidasi", "Intimidation"),
    IncidentCategory.LOGISTIK.value: ("Logistik", "Logistics"),
    IncidentCategory.BENCANA_CUACA.value: ("Bencana/cuaca", "Disaster/weather"),
    IncidentCategory.KECELAKAAN.value: ("Kecelakaan", "Accident"),
    IncidentCategory.LAINNYA.value: ("Lainnya", "Other"),
}

ALERT_WORDS: dict[str, tuple[str, str]] = {
    AlertKind.BEHIND_SCHEDULE.value: ("Terlambat dari jadwal", "Behind schedule"),
    AlertKind.TPS_NOT_VISITED.value: ("TPS tidak terpantau", "TPS not seen"),
    AlertKind.OFFICER_SILENT.value: ("Petugas senyap", "Officer silent"),
    AlertKind.NETWORK_OUTAGE.value: ("Gangguan jaringan", "Network outage"),
    AlertKind.INCIDENT_SEVERE.value: ("Insiden berat", "Severe incident"),
    AlertKind.INCIDENT_UNACKNOWLEDGED.value: (
        "Insiden belum diterima",
        "Incident not acknowledged",
    ),
    AlertKind.INTAKE_STALLED.value: ("Penerimaan data macet", "Intake stalled"),
    AlertKind.PHASE_CLAIM.value: ("Klaim tahap perlu konfirmasi", "Phase claim to confirm"),
    AlertKind.SOS.value: ("SOS petugas", "Officer SOS"),
    AlertKind.CUSTODY_NOT_DEPARTED.value: ("Kotak belum berangkat", "Boxes not departed"),
    AlertKind.CUSTODY_OVERDUE.value: ("Kotak terlambat tiba di PPK", "Boxes overdue at PPK"),
    AlertKind.CUSTODY_NO_BA.value: ("Serah terima tanpa nomor BA", "Handover without BA number"),
    AlertKind.CUSTODY_STILL.value: ("Konvoi kotak berhenti", "Box convoy standing still"),
}

STATUS_WORDS: dict[str, tuple[str, str]] = {
    IncidentStatus.BARU.value: ("Baru", "New"),
    IncidentStatus.DITERIMA.value: ("Diterima", "Acknowledged"),
    IncidentStatus.DITANGANI.value: ("Ditangani", "Being handled"),
    IncidentStatus.SELESAI.value: ("Selesai", "Resolved"),
    IncidentStatus.DITUTUP.value: ("Ditutup", "Closed"),
}

_DAYS = (
    ("Senin", "Monday"),
    ("Selasa", "Tuesday"),
    ("Rabu", "Wednesday"),
    ("Kamis", "Thursday"),
    ("Jumat", "Friday"),
    ("Sabtu", "Saturday"),
    ("Minggu", "Sunday"),
)
_MONTHS = (
    ("Januari", "January"),
    ("Februari", "February"),
    ("Maret", "March"),
    ("April", "April"),
    ("Mei", "May"),
    ("Juni", "June"),
    ("Juli", "July"),
    ("Agustus", "August"),
    ("September", "September"),
    ("Oktober", "October"),
    ("November", "November"),
    ("Desember", "December"),
)


def lang_of(value: Any) -> Lang:
    """A supported language from a query value, defaulting to Bahasa Indonesia."""
    return "en" if value == "en" else DEFAULT_LANG


def _pick(pair: tuple[str, str], lang: Lang) -> str:
    return pair[1] if lang == "en" else pair[0]


def t(key: str, lang: Lang, **values: Any) -> str:
    """A screen text in a language, with `{placeholders}` filled."""
    text = _pick(_WORDS[key], lang)
    return text.format(**values) if values else text


def phase_name(key: str | None, lang: Lang) -> str:
    """The name of a phase (None: no report yet)."""
    return _pick(PHASE_WORDS[key or "belum"], lang)


def situation_name(key: str | None, lang: Lang) -> str:
    """The name of a situation, or of the not-seen state."""
    return _pick(SITUATION_WORDS[key or "belum"], lang)


def risk_name(key: str, lang: Lang) -> str:
    """The name of a risk rating."""
    return _pick(RISK_WORDS[key], lang)


def category_name(key: str, lang: Lang) -> str:
    """The name of an incident category."""
    return _pick(CATEGORY_WORDS[key], lang)


def status_name(key: str, lang: Lang) -> str:
    """The name of an incident status."""
    return _pick(STATUS_WORDS[key], lang)


def wib(at: datetime) -> datetime:
    """A time in Western Indonesian Time."""
    return at.astimezone(WIB)


def clock_text(at: datetime, *, seconds: bool = False) -> str:
    """HH:MM (or HH:MM:SS) in WIB."""
    return wib(at).strftime("%H:%M:%S" if seconds else "%H:%M")


def date_text(at: datetime, lang: Lang) -> str:
    """The day and date in WIB, e.g. "Rabu, 27 November 2024"."""
    local = wib(at)
    day = _pick(_DAYS[local.weekday()], lang)
    month = _pick(_MONTHS[local.month - 1], lang)
    return f"{day}, {local.day} {month} {local.year}"


def ago_text(seconds: float, lang: Lang) -> str:
    """How long ago, coarsened the way people say it on a radio."""
    s = max(0, int(seconds))
    if s < 60:
        return t("ago_s", lang, n=s)
    if s < 3600:
        return t("ago_m", lang, n=s // 60)
    return t("ago_h", lang, n=s // 3600, m=(s % 3600) // 60)


def browser_words(lang: Lang) -> dict[str, Any]:
    """Every word the browser script needs, in one language."""
    keys = (
        "live",
        "replay_mode",
        "replay_error",
        "connecting",
        "data_age",
        "lost_banner",
        "denied_banner",
        "ended_banner",
        "exercise",
        "h_desa",
        "h_kecamatan",
        "h_phase",
        "h_situation",
        "h_risk",
        "h_seen",
        "h_by",
        "h_never",
        "wib",
        "ago_s",
        "ago_m",
        "ago_h",
        "log_phase",
        "log_situation",
        "log_incident",
        "log_silence",
        "log_by",
        "log_empty",
        "sev",
        "c_silent_sub",
        "no_incidents",
        "reports",
        "resolved_waiting",
        "assignee",
        *(k for k in _WORDS if k.startswith(("a_", "d_", "alert", "sos_", "photo_"))),
        "refused",
        "no_alerts",
        "system",
        "platform_ok",
        "platform_slow",
        "platform_stalled",
        "platform_down",
        "platform_never",
    )
    return {
        "words": {k: t(k, lang) for k in keys},
        "phases": {k: _pick(v, lang) for k, v in PHASE_WORDS.items()},
        "situations": {k: _pick(v, lang) for k, v in SITUATION_WORDS.items()},
        "risks": {k: _pick(v, lang) for k, v in RISK_WORDS.items()},
        "categories": {k: _pick(v, lang) for k, v in CATEGORY_WORDS.items()},
        "statuses": {k: _pick(v, lang) for k, v in STATUS_WORDS.items()},
        "alert_kinds": {k: _pick(v, lang) for k, v in ALERT_WORDS.items()},
        "days": [_pick(d, lang) for d in _DAYS],
        "months": [_pick(m, lang) for m in _MONTHS],
    }
