// Words of the app: Bahasa Indonesia first, English second. Every refusal the server can give
// (backend/intake/validate.py, schemas/events.py, the credential checks, the enrolment and the
// photo upload) is told in Bahasa with what the officer should do about it; tests/js/lapor/
// i18n.test.mjs reads those Python files and fails when a reason has no words here.

export const LANGS = ["id", "en"];
let lang = "id";

export function setLang(value) {
  lang = LANGS.includes(value) ? value : "id";
  return lang;
}

export function getLang() {
  return lang;
}

const WORDS = {
  app_name: ["Posko Lapor", "Posko Lapor"],
  nav_home: ["Beranda", "Home"],
  nav_incident: ["Insiden", "Incident"],
  nav_sos: ["SOS", "SOS"],
  nav_outbox: ["Kiriman", "Outbox"],
  nav_status: ["Status", "Status"],
  nav_custody: ["Kotak", "Boxes"],

  online: ["Tersambung", "Online"],
  offline: ["Tanpa sinyal", "Offline"],
  revoked_banner: [
    "HP ini tidak terdaftar lagi — minta lembar pendaftaran baru",
    "This phone is no longer enrolled — ask for a new enrolment sheet",
  ],
  revoked_more: [
    "Laporan yang belum terkirim tetap tersimpan di HP ini dan akan terkirim setelah HP didaftarkan lagi.",
    "Reports not yet sent stay on this phone and go once the phone is enrolled again.",
  ],

  // Home
  home_title: ["TPS saya", "My TPS"],
  home_none: [
    "Belum ada TPS yang ditugaskan. Cari TPS di bawah bila Anda ditugaskan ke TPS lain.",
    "No TPS assigned yet. Search below if you were assigned to another TPS.",
  ],
  home_not_loaded: [
    "Daftar TPS belum dapat dimuat. Akan dicoba lagi saat ada sinyal.",
    "The TPS list could not be loaded yet. It is tried again when there is signal.",
  ],
  home_cached: ["Data TPS dari {time} (tersimpan di HP)", "TPS data from {time} (stored on the phone)"],
  tps_number: ["TPS {n}", "TPS {n}"],
  last_report: ["Terakhir: {phase} · {situation}", "Last: {phase} · {situation}"],
  last_by: ["{time} oleh {who}", "{time} by {who}"],
  never_reported: ["Belum ada laporan", "No report yet"],
  expected_now: ["Jadwal sekarang: {phase}", "Schedule now: {phase}"],
  next_phase: ["→ {phase}", "→ {phase}"],
  all_phases_done: ["Semua tahap selesai", "All phases done"],
  send_situation: ["Kirim situasi saja", "Send situation only"],
  other_phase: ["Tahap lain…", "Other phase…"],
  choose_phase: ["Pilih tahap", "Choose phase"],
  note_placeholder: ["Catatan (boleh kosong)", "Note (optional)"],
  my_queued: ["Laporan Anda menunggu kirim: {phase}", "Your report waits to be sent: {phase}"],
  search_title: ["Cari TPS lain (penugasan baru)", "Find another TPS (reassignment)"],
  search_placeholder: ["Kode, nomor TPS, atau nama desa", "Code, TPS number or village"],
  search_button: ["Cari", "Search"],
  search_offline: ["Pencarian perlu sinyal. Coba lagi saat tersambung.", "Search needs signal. Try again when online."],
  search_none: ["Tidak ada TPS yang cocok di wilayah Polsek Anda.", "No matching TPS in your Polsek's area."],
  search_failed: ["Pencarian gagal. Coba lagi sebentar lagi.", "Search failed. Try again shortly."],
  not_assigned: ["Bukan TPS tugas Anda", "Not your assigned TPS"],
  queued_ok: ["Tersimpan di HP — dikirim saat ada sinyal", "Saved on the phone — sent when there is signal"],
  save_failed: [
    "Gagal menyimpan di HP. Kosongkan memori HP lalu coba lagi.",
    "Could not save on the phone. Free some storage and try again.",
  ],

  // Ballot boxes to the PPK (custody)
  custody_title: ["Kotak suara ke PPK", "Ballot boxes to the PPK"],
  custody_tps: ["TPS", "TPS"],
  custody_step: ["Langkah", "Step"],
  step_segel: ["1 · Kotak disegel", "1 · Boxes sealed"],
  step_berangkat: ["2 · Berangkat ke PPK", "2 · Left for the PPK"],
  step_tiba: ["3 · Tiba di PPK", "3 · Arrived at the PPK"],
  step_serah_terima: ["4 · Serah terima ke PPK", "4 · Handed over to the PPK"],
  custody_seals: ["Nomor segel (pisahkan dengan spasi atau koma)", "Seal numbers (space or comma between)"],
  custody_seal_photo: ["Foto segel (boleh tidak ada)", "Photo of the seals (optional)"],
  custody_vehicle: ["Kendaraan (mis. nomor polisi)", "Vehicle (e.g. plate number)"],
  custody_escorts: ["NRP pengawal (boleh kosong)", "Escorts' NRP (may be empty)"],
  custody_ba: ["Nomor berita acara penerimaan", "Receipt record (BA) number"],
  custody_receiver: ["Nama petugas PPK penerima", "Receiving PPK official's name"],
  custody_need_seals: ["Isi minimal satu nomor segel.", "Enter at least one seal number."],
  custody_need_receiver: ["Isi nama petugas PPK penerima.", "Enter the receiving official's name."],
  custody_no_ba: [
    "Tanpa nomor BA, Posko akan diberi peringatan. Kirim tetap?",
    "Without a BA number the post is alerted. Send anyway?",
  ],
  custody_send: ["Kirim langkah kotak", "Send the box step"],
  custody_done: ["Sudah: {steps}", "Done: {steps}"],
  kind_custody: ["{tps}: {step}", "{tps}: {step}"],

  // Incident
  incident_title: ["Lapor insiden", "Report an incident"],
  category: ["Jenis kejadian", "Category"],
  severity: ["Tingkat", "Severity"],
  sev_1: ["1 · Ringan", "1 · Minor"],
  sev_2: ["2 · Sedang", "2 · Moderate"],
  sev_3: ["3 · Berat", "3 · Serious"],
  sev_4: ["4 · Kritis", "4 · Critical"],
  where: ["Lokasi", "Where"],
  where_here: ["Lokasi saya sekarang (GPS)", "My current location (GPS)"],
  description: ["Keterangan", "Description"],
  description_placeholder: ["Apa yang terjadi? Siapa, berapa orang, apa yang sudah dilakukan.", "What happened? Who, how many, what was done."],
  photos: ["Foto (maks. 3)", "Photos (max. 3)"],
  add_photo: ["+ Tambah foto", "+ Add photo"],
  remove_photo: ["Hapus foto", "Remove photo"],
  photo_failed: ["Foto tidak dapat dibaca. Coba foto lain.", "The photo could not be read. Try another."],
  photo_working: ["Mengecilkan foto…", "Shrinking the photo…"],
  send_report: ["Kirim laporan", "Send report"],
  need_description: ["Tulis keterangan singkat dulu.", "Write a short description first."],
  need_where: [
    "Pilih TPS, atau nyalakan GPS untuk memakai lokasi sekarang.",
    "Choose a TPS, or turn on GPS to use the current location.",
  ],
  locating: ["Mencari lokasi…", "Finding location…"],

  // SOS
  sos_title: ["SOS — butuh bantuan segera", "SOS — need help now"],
  sos_explain: [
    "Tekan tombol merah. Posko menerima tanda bahaya dengan nama dan lokasi Anda (bila GPS ada), dan terus dikirim ulang sampai diterima.",
    "Press the red button. The post receives a distress signal with your name and location (if GPS has it); it is resent until received.",
  ],
  sos_button: ["SOS", "SOS"],
  sos_confirm: ["Kirim SOS sekarang?", "Send SOS now?"],
  sos_confirm_text: [
    "Posko langsung menerima tanda bahaya atas nama Anda, dengan lokasi bila GPS menyala. Kirim hanya dalam keadaan darurat.",
    "The post is alerted at once, in your name, with your location if GPS is on. Send only in an emergency.",
  ],
  sos_yes: ["Ya, kirim SOS", "Yes, send SOS"],
  cancel: ["Batal", "Cancel"],
  sos_queued: ["SOS tersimpan — dikirim terus sampai diterima", "SOS saved — sent until received"],
  sos_waiting: ["SOS belum diterima Posko — terus dikirim", "SOS not yet received — still sending"],
  sos_received: ["SOS diterima Posko {time}", "SOS received by the post {time}"],

  // Outbox
  outbox_title: ["Kiriman", "Outbox"],
  outbox_empty: ["Belum ada laporan.", "No reports yet."],
  outbox_counts: ["{menunggu} menunggu · {ditolak} ditolak · {diterima} diterima", "{menunggu} queued · {ditolak} rejected · {diterima} received"],
  send_now: ["Kirim sekarang", "Send now"],
  clear_history: ["Hapus riwayat diterima", "Clear received history"],
  dismiss: ["Hapus dari daftar", "Dismiss"],
  st_menunggu: ["Menunggu", "Queued"],
  st_terkirim: ["Terkirim", "Sent"],
  st_diterima: ["Diterima", "Received"],
  st_ditolak: ["Ditolak", "Rejected"],
  made_at: ["dibuat {time}", "made {time}"],
  done_at: ["diterima {time}", "received {time}"],
  rejected_at: ["ditolak {time}", "rejected {time}"],
  flag_late: ["tercatat terlambat", "recorded late"],
  flag_clock_skew: ["jam HP berbeda dari server", "phone clock differs from the server"],
  flag_unassigned: ["bukan TPS tugas Anda: tahap dicatat sebagai klaim", "not your assigned TPS: the phase is a claim"],
  flag_before_correction: ["lebih lama dari koreksi Posko: disimpan saja", "older than the post's correction: kept only"],
  photo_state: ["Foto {n}: {state}", "Photo {n}: {state}"],
  other_officer: [
    "Dibuat saat HP terdaftar atas NRP {nrp}; tidak dapat dikirim atas nama petugas ini.",
    "Made while the phone was enrolled to NRP {nrp}; it cannot be sent under this officer.",
  ],
  kind_ping: ["{tps} → {phase} · {situation}", "{tps} → {phase} · {situation}"],
  kind_incident: ["Insiden: {category} (tingkat {severity})", "Incident: {category} (severity {severity})"],
  kind_sos: ["SOS", "SOS"],
  note_label: ["Catatan: {note}", "Note: {note}"],
  what_to_do: ["Yang harus dilakukan: {todo}", "What to do: {todo}"],

  // Status
  status_title: ["Status Posko", "Post status"],
  st_network: ["Jaringan", "Network"],
  st_last_reached: ["Terakhir tersambung ke server", "Last reached the server"],
  st_never: ["belum pernah", "never"],
  st_clock: ["Selisih jam HP", "Phone clock offset"],
  st_clock_ok: ["{offset} (wajar)", "{offset} (fine)"],
  st_clock_bad: [
    "{offset} — atur tanggal & jam otomatis di Pengaturan HP",
    "{offset} — set automatic date & time in the phone's settings",
  ],
  st_clock_unknown: ["belum diketahui (perlu sinyal)", "not known yet (needs signal)"],
  st_clock_exercise: [
    "latihan: laporan memakai jam latihan Posko ({time})",
    "exercise: reports use the post's exercise clock ({time})",
  ],
  st_officer: ["Terdaftar atas nama", "Enrolled as"],
  st_not_enrolled: ["belum terdaftar", "not enrolled"],
  st_revoked_short: ["tidak terdaftar", "not enrolled"],
  st_version: ["Versi aplikasi", "App version"],
  st_sending: ["Pengiriman", "Sending"],
  st_unsent: ["{n} laporan/foto belum terkirim", "{n} reports/photos not sent yet"],
  st_all_sent: ["semua terkirim", "everything sent"],
  st_storage: ["Penyimpanan HP", "Phone storage"],
  st_persisted: ["tetap (tidak dihapus otomatis)", "persistent (not cleared automatically)"],
  st_not_persisted: ["bisa dihapus browser bila memori penuh", "may be cleared by the browser when storage is full"],
  st_exercise: ["Latihan", "Exercise"],
  refresh: ["Perbarui data", "Refresh data"],
  language: ["Bahasa", "Language"],
  ago_s: ["{n} detik lalu", "{n} s ago"],
  ago_m: ["{n} menit lalu", "{n} min ago"],
  ago_h: ["{n} jam lalu", "{n} h ago"],
  ahead: ["HP lebih cepat {d}", "phone ahead by {d}"],
  behind: ["HP lebih lambat {d}", "phone behind by {d}"],
  state_idle: ["siaga", "idle"],
  state_connecting: ["menyambung…", "connecting…"],
  state_sending: ["mengirim…", "sending…"],
  state_waiting: ["belum berhasil, dicoba lagi otomatis", "not through yet, retried automatically"],
  state_revoked: ["dihentikan: HP tidak terdaftar lagi", "stopped: phone no longer enrolled"],
  state_stopped: ["dihentikan", "stopped"],

  // Enrolment
  enrol_title: ["Pendaftaran HP", "Phone enrolment"],
  enrol_working: ["Mendaftarkan HP ini…", "Enrolling this phone…"],
  enrol_ok: ["HP ini terdaftar", "This phone is enrolled"],
  enrol_ok_text: [
    "HP ini sekarang melapor atas nama {who}. Simpan aplikasi ke layar utama: menu browser → \"Tambahkan ke layar utama\".",
    "This phone now reports as {who}. Add the app to the home screen: browser menu → \"Add to home screen\".",
  ],
  enrol_start: ["Mulai", "Start"],
  enrol_failed: ["Pendaftaran gagal", "Enrolment failed"],
  enrol_used: [
    "Tautan/QR ini sudah dipakai. Setiap QR hanya berlaku sekali. Bila HP ini belum terdaftar, minta lembar pendaftaran baru ke admin Posko.",
    "This link/QR was already used; each QR works once. If this phone is not enrolled, ask the post's admin for a new sheet.",
  ],
  enrol_expired: [
    "Tautan/QR ini sudah kedaluwarsa. Minta lembar pendaftaran baru ke admin Posko.",
    "This link/QR has expired. Ask the post's admin for a new enrolment sheet.",
  ],
  enrol_revoked: [
    "Tautan/QR ini sudah dibatalkan (ada lembar yang lebih baru). Pakai QR terbaru atau minta lembar baru ke admin Posko.",
    "This link/QR was cancelled (a newer sheet exists). Use the newest QR or ask the admin for a new sheet.",
  ],
  enrol_unknown: [
    "Tautan/QR ini tidak dikenal. Pindai lagi QR dari lembar pendaftaran dengan kamera HP.",
    "This link/QR is not known. Scan the QR on the enrolment sheet again with the phone's camera.",
  ],
  enrol_throttled: [
    "Terlalu banyak percobaan. Tunggu satu menit lalu pindai QR lagi.",
    "Too many attempts. Wait a minute and scan the QR again.",
  ],
  enrol_offline: [
    "Tidak ada sinyal. Pindai QR lagi saat HP tersambung internet (tautan belum terpakai).",
    "No signal. Scan the QR again when the phone is online (the link is not used up).",
  ],
  enrol_error: [
    "Server tidak dapat mendaftarkan HP saat ini. Coba pindai QR lagi sebentar lagi.",
    "The server cannot enrol the phone right now. Scan the QR again shortly.",
  ],
  enrol_again: ["Coba lagi", "Try again"],
  not_enrolled_title: ["HP ini belum terdaftar", "This phone is not enrolled"],
  not_enrolled_text: [
    "Pindai QR pada lembar pendaftaran yang dibagikan admin Posko dengan kamera HP, lalu buka tautannya.",
    "Scan the QR on the enrolment sheet from the post's admin with the phone's camera, then open its link.",
  ],
  enrol_other_officer: [
    "Masih ada {n} laporan dari petugas sebelumnya di HP ini; laporan itu tidak dikirim atas nama Anda.",
    "{n} reports of the previous officer are still on this phone; they are not sent under your name.",
  ],
};

// Reasons the server gives, matched on their text (and field where the text alone is not
// enough). Each says what happened and what to do.
const REASON_WORDS = {
  r_tps_unknown: [
    "Kode TPS tidak dikenal server.|Perbarui data di Status, pilih TPS dari daftar lalu lapor lagi.",
    "The server does not know this TPS code.|Refresh the data under Status, pick the TPS from the list and report again.",
  ],
  r_tps_not_assigned: [
    "Anda tidak ditugaskan di TPS ini.|Minta Posko memperbarui penugasan Anda, lalu lapor lagi.",
    "You are not assigned to this TPS.|Ask the post to update your assignment, then report again.",
  ],
  r_tps_outside: [
    "TPS ini di luar kabupaten Anda dan bukan tugas Anda.|Pilih TPS tugas Anda; bila BKO, minta Posko mencatat penugasannya.",
    "This TPS is outside your kabupaten and not assigned to you.|Pick your own TPS; if seconded, ask the post to record the assignment.",
  ],
  r_time_future: [
    "Jam HP terlalu cepat (di masa depan).|Atur tanggal & jam otomatis di Pengaturan HP, lalu buat laporan lagi.",
    "The phone's clock is ahead (in the future).|Set automatic date & time in the phone's settings, then report again.",
  ],
  r_time_old: [
    "Laporan terlalu lama tertahan, atau jam HP terlalu lambat.|Periksa tanggal & jam HP (atur otomatis), lalu buat laporan baru.",
    "The report waited too long, or the phone's clock is behind.|Check the phone's date & time (set automatic), then make a new report.",
  ],
  r_latlon: [
    "Lokasi GPS tidak lengkap.|Buat laporan lagi; nyalakan GPS atau pilih TPS.",
    "The GPS location was incomplete.|Report again; turn on GPS or choose a TPS.",
  ],
  r_where: [
    "Insiden perlu TPS atau lokasi GPS.|Buat laporan lagi dan pilih TPS, atau nyalakan GPS.",
    "An incident needs a TPS or a GPS location.|Report again and choose a TPS, or turn on GPS.",
  ],
  r_too_large: [
    "Kiriman terlalu besar.|Perpendek keterangan lalu buat laporan lagi.",
    "The report is too large.|Shorten the description and report again.",
  ],
  r_bad_frame: [
    "Server tidak dapat membaca kiriman dari HP.|Perbarui aplikasi (tutup dan buka lagi), lalu buat laporan lagi.",
    "The server could not read what the phone sent.|Update the app (close and open it again), then report again.",
  ],
  r_type: [
    "Jenis laporan tidak dikenal server.|Perbarui aplikasi (tutup dan buka lagi), lalu buat laporan lagi.",
    "The server does not know this kind of report.|Update the app (close and open it again), then report again.",
  ],
  r_storage: [
    "Server sedang tidak dapat menyimpan.|Tidak perlu apa-apa: laporan dikirim ulang otomatis.",
    "The server cannot store right now.|Nothing to do: the report is resent automatically.",
  ],
  r_cred_unknown: [
    "HP ini tidak dikenal server.|Minta lembar pendaftaran baru ke admin Posko dan pindai QR-nya.",
    "The server does not know this phone.|Ask the post's admin for a new enrolment sheet and scan its QR.",
  ],
  r_cred_revoked: [
    "HP ini tidak terdaftar lagi (pendaftaran dicabut atau HP lain didaftarkan).|Minta lembar pendaftaran baru ke admin Posko.",
    "This phone is no longer enrolled (revoked, or another phone was enrolled).|Ask the post's admin for a new enrolment sheet.",
  ],
  r_cred_expired: [
    "Pendaftaran HP ini sudah habis masa berlakunya.|Minta lembar pendaftaran baru ke admin Posko.",
    "This phone's enrolment has expired.|Ask the post's admin for a new enrolment sheet.",
  ],
  r_cred_not_device: [
    "Tanda masuk ini bukan untuk HP petugas.|Daftarkan HP dengan QR dari lembar pendaftaran petugas.",
    "This credential is not an officer's phone.|Enrol the phone with the QR from an officer's enrolment sheet.",
  ],
  r_photo_missing: [
    "Foto hilang dari memori HP.|Bila perlu, buat laporan insiden baru dengan foto itu.",
    "The photo is gone from the phone's storage.|If needed, make a new incident report with that photo.",
  ],
  r_photo_conflict: [
    "Sudah ada foto lain di urutan ini.|Tidak perlu apa-apa; kirim foto lain lewat laporan baru bila perlu.",
    "Another photo is already stored at this place.|Nothing to do; send another photo in a new report if needed.",
  ],
  r_photo_too_large: [
    "Foto terlalu besar untuk server.|Buat laporan baru dengan foto yang lebih kecil.",
    "The photo is too large for the server.|Make a new report with a smaller photo.",
  ],
  r_photo_type: [
    "Berkas ini bukan foto yang dikenal (JPEG/PNG/WebP).|Ambil foto dengan kamera HP lalu buat laporan baru.",
    "This file is not a known image (JPEG/PNG/WebP).|Take the photo with the phone's camera and make a new report.",
  ],
  r_photo_index: [
    "Urutan foto tidak sah.|Perbarui aplikasi (tutup dan buka lagi).",
    "The photo's place is not valid.|Update the app (close and open it again).",
  ],
  r_sos: [
    "Server menolak isian SOS.|Hubungi Posko lewat radio atau telepon segera.",
    "The server refused the SOS fields.|Call the post by radio or phone at once.",
  ],
  r_seals: [
    "Nomor segel tidak ada.|Buat laporan segel lagi dengan nomor segel kotak.",
    "No seal numbers.|Report the sealing again with the boxes' seal numbers.",
  ],
  r_receiver: [
    "Nama petugas PPK penerima tidak ada.|Buat laporan serah terima lagi dengan nama penerima.",
    "No receiving official's name.|Report the handover again with the receiver's name.",
  ],
  r_field: [
    "Isian \"{field}\" ditolak server ({reason}).|Buat laporan lagi; bila terulang, beri tahu admin Posko.",
    "The field \"{field}\" was refused ({reason}).|Report again; if it repeats, tell the post's admin.",
  ],
  r_other: [
    "Ditolak server: {reason}.|Buat laporan lagi; bila terulang, beri tahu admin Posko.",
    "Refused by the server: {reason}.|Report again; if it repeats, tell the post's admin.",
  ],
};

// Server reason → words. Order matters: the first match wins.
export const REASON_RULES = [
  { match: /^unknown TPS code/, key: "r_tps_unknown" },
  { match: /^officer is not assigned to this TPS/, key: "r_tps_not_assigned" },
  { match: /^TPS outside your kabupaten/, key: "r_tps_outside" },
  { match: /in the future$/, key: "r_time_future" },
  { match: /^older than the allowed limit/, key: "r_time_old" },
  { match: /^lat and lon come together/, key: "r_latlon" },
  { match: /^an incident needs tps or lat\/lon/, key: "r_where" },
  { match: /^an SOS has severity 4/, key: "r_sos" },
  { match: /^segel needs at least one seal number/, key: "r_seals" },
  { match: /^serah_terima needs the receiving official's name/, key: "r_receiver" },
  { match: /^larger than the limit/, key: "r_too_large" },
  { match: /^batch of \d+ events exceeds/, key: "r_too_large" },
  { match: /^malformed JSON|^empty batch|^expected a JSON object|^binary frames/, key: "r_bad_frame" },
  { match: /must be 'ping', 'incident' or 'custody'|^this endpoint takes/, key: "r_type" },
  { match: /^storage unavailable|^server is shutting down/, key: "r_storage" },
  { match: /^(missing|malformed|unknown) credential/, key: "r_cred_unknown" },
  { match: /^revoked credential/, key: "r_cred_revoked" },
  { match: /^expired credential/, key: "r_cred_expired" },
  { match: /^not a device credential/, key: "r_cred_not_device" },
  // HMAC signatures are for programs, never this app; told as an unknown phone all the same.
  { match: /signature|^signed body/, key: "r_cred_unknown" },
  { match: /^missing on the phone$/, key: "r_photo_missing" },
];

// By field, where the text is the validator's own (pydantic's words for a malformed value).
const FIELD_RULES = {
  storage: "r_storage",
  token: "r_cred_revoked",
  sos: "r_sos",
  frame: "r_too_large",
  body: "r_bad_frame",
  type: "r_type",
};

// Photo upload refusals, by HTTP status (backend/photos, issue 11).
const PHOTO_STATUS = { 409: "r_photo_conflict", 413: "r_photo_too_large", 415: "r_photo_type", 422: "r_photo_index" };

// The names of the event's fields, in Bahasa, for the generic words.
export const FIELD_NAMES = {
  event_id: ["nomor laporan", "report id"],
  device_time: ["jam HP", "phone time"],
  type: ["jenis laporan", "report kind"],
  tps: ["TPS", "TPS"],
  phase: ["tahap", "phase"],
  situation: ["situasi", "situation"],
  lat: ["lintang GPS", "GPS latitude"],
  lon: ["bujur GPS", "GPS longitude"],
  note: ["catatan", "note"],
  category: ["jenis kejadian", "category"],
  severity: ["tingkat", "severity"],
  description: ["keterangan", "description"],
  sos: ["SOS", "SOS"],
  event: ["laporan", "report"],
  photo: ["foto", "photo"],
  code: ["kode pendaftaran", "enrolment code"],
  step: ["langkah kotak", "box step"],
  seal_numbers: ["nomor segel", "seal numbers"],
  escort_nrps: ["NRP pengawal", "escorts' NRP"],
  vehicle: ["kendaraan", "vehicle"],
  ba_number: ["nomor berita acara", "BA number"],
  receiver_name: ["nama penerima", "receiver's name"],
};

export const PHASES = [
  "logistik_tiba",
  "persiapan",
  "pemungutan",
  "penghitungan",
  "selesai_hitung",
  "kotak_dikawal",
  "diterima_ppk",
];

export const PHASE_WORDS = {
  belum: ["Belum lapor", "No report yet"],
  logistik_tiba: ["Logistik tiba", "Logistics arrived"],
  persiapan: ["Persiapan", "Preparation"],
  pemungutan: ["Pemungutan", "Voting"],
  penghitungan: ["Penghitungan", "Counting"],
  selesai_hitung: ["Selesai hitung", "Count finished"],
  kotak_dikawal: ["Kotak dikawal", "Boxes escorted"],
  diterima_ppk: ["Diterima PPK", "Received by PPK"],
  ditunda: ["Ditunda", "Postponed"],
};

export const SITUATION_WORDS = {
  belum: ["Belum lapor", "No report yet"],
  aman: ["Aman", "Safe"],
  waspada: ["Waspada", "Alert"],
  gangguan: ["Gangguan", "Disturbance"],
};

export const CATEGORY_WORDS = {
  kericuhan: ["Kericuhan", "Unrest"],
  unjuk_rasa: ["Unjuk rasa", "Protest"],
  politik_uang: ["Politik uang", "Vote buying"],
  intimidasi: ["Intimidasi", "Intimidation"],
  logistik: ["Logistik", "Logistics"],
  bencana_cuaca: ["Bencana/cuaca", "Disaster/weather"],
  kecelakaan: ["Kecelakaan", "Accident"],
  lainnya: ["Lainnya", "Other"],
};

export const RISK_WORDS = {
  kurang_rawan: ["Kurang rawan", "Low risk"],
  rawan: ["Rawan", "At risk"],
  sangat_rawan: ["Sangat rawan", "High risk"],
};

function pick(pair, vars) {
  const text = pair ? pair[lang === "en" ? 1 : 0] : "";
  return text.replace(/\{(\w+)\}/g, (m, k) => (vars && vars[k] !== undefined ? String(vars[k]) : m));
}

/** A word of the app in the current language, with {name} filled in from `vars`. */
export function t(key, vars) {
  const pair = WORDS[key];
  if (!pair) return key;
  return pick(pair, vars);
}

export function hasWord(key) {
  return Object.prototype.hasOwnProperty.call(WORDS, key);
}

const wordOf = (table, key) => (table[key] ? pick(table[key]) : key);
export const phaseName = (p) => wordOf(PHASE_WORDS, p || "belum");
export const situationName = (s) => wordOf(SITUATION_WORDS, s || "belum");
export const categoryName = (c) => wordOf(CATEGORY_WORDS, c);
export const riskName = (r) => wordOf(RISK_WORDS, r);
export const fieldName = (f) => wordOf(FIELD_NAMES, f);

/** The rule key for a refusal: by reason text, then field, then photo status; null if none. */
export function reasonKey(error) {
  if (!error) return null;
  const reason = String(error.reason || "");
  for (const rule of REASON_RULES) if (rule.match.test(reason)) return rule.key;
  if (error.status && PHOTO_STATUS[error.status]) return PHOTO_STATUS[error.status];
  if (FIELD_RULES[error.field]) return FIELD_RULES[error.field];
  return null;
}

/**
 * A refusal told to the officer: {text, todo, specific}. `specific` is false when only the
 * generic words fit (a field named, or the server's own text shown as it is).
 */
export function explain(error) {
  const key = reasonKey(error);
  const field = error && error.field ? String(error.field) : "";
  const reason = error && error.reason ? String(error.reason) : "";
  let pair;
  let specific = true;
  if (key) {
    pair = REASON_WORDS[key];
  } else if (FIELD_NAMES[field.split(".")[0]]) {
    pair = REASON_WORDS.r_field;
    specific = false;
  } else {
    pair = REASON_WORDS.r_other;
    specific = false;
  }
  const [text, todo] = pick(pair, { field: fieldName(field.split(".")[0]), reason }).split("|");
  return { text, todo, specific, key };
}

/** The words of an enrolment refusal code (used, expired, revoked, unknown, throttled...). */
export function enrolWords(code) {
  const key = "enrol_" + code;
  return hasWord(key) ? t(key) : t("enrol_error");
}

/** Both languages of every word: for the tests. */
export function allWords() {
  return { WORDS, REASON_WORDS };
}
