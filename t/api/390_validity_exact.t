# Validity to the second (PCA-API.md §5.5.1, AWS API_Validity): END_DATE (14 and 12
# digits) and ABSOLUTE land on exactly that NotAfter; DAYS, MONTHS and YEARS count from
# the instant of issuance, which is also where the default NotBefore (issuance - 60
# minutes) comes from, so NotAfter - NotBefore is exact; UTCTime before 2050 and
# GeneralizedTime from 2050 (RFC 5280 §4.1.2.5); the issuing CA's NotAfter caps every
# certificate (ValidationException one second beyond, accepted exactly at it) except
# a root's own; a SHORT_LIVED_CERTIFICATE CA issues at most 7 days. Every certificate
# issued here passes the lint.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Issue;
use POSIX qw(strftime);
use Time::Local qw(timegm);

plan tests => 24, need_module('acmpca');

sub dim { my($y, $m) = @_; (31, ($y % 4 == 0 && ($y % 100 || $y % 400 == 0)) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[$m] }
# t + n calendar months, the day clamped to the month's end (PCA-API.md §5.5.1 [DECISION]).
sub add_months {
    my($t, $n) = @_;
    my @g = gmtime $t;
    my $m = $g[4] + $n;
    my $y = $g[5] + 1900 + int($m / 12);
    $m %= 12;
    my $d = $g[3] > dim($y, $m) ? dim($y, $m) : $g[3];
    timegm($g[0], $g[1], $g[2], $d, $m, $y);
}

# A root valid until 2060, so that certificates can end after 2050.
my $R = make_root_active(key => 'EC_secp384r1', cn => uniq('Validity Root'),
                         validity => { Type => 'END_DATE', Value => 20600101000000 });
ok($R, 'an ACTIVE root valid until 2060');
my $CA = $R ? $R->{arn} : '';
my $csr = make_csr(subj => '/CN=validity')->{csr};
my @LINT;

sub get { my $c = issue_get($CA, $csr, signing => 'SHA384WITHECDSA', validity => $_[0], @_[1 .. $#_]); push @LINT, $c if $c; $c }
sub dates { my $c = shift; $c ? cert_dates($c->{cert}) : () }
# The ASN.1 types of notBefore and notAfter.
sub time_types {
    my $c = shift or return ();
    my $p = openssl({ stdin => pem_to_der($c->{cert}) }, 'asn1parse', '-inform', 'DER')->{out};
    $p =~ /(UTCTIME|GENERALIZEDTIME)\s*:\S+\s*\n.*?(UTCTIME|GENERALIZEDTIME)/s ? ($1, $2) : ();
}

# ---- exact instants
my $end = time + 200 * 86400;
my($nb, $na) = dates(get({ Type => 'END_DATE', Value => 0 + strftime('%Y%m%d%H%M%S', gmtime $end) }));
is($na, $end, 'END_DATE with 14 digits: NotAfter is exactly that instant');
$end = time + 100 * 86400;
($nb, $na) = dates(get({ Type => 'END_DATE', Value => 0 + strftime('%y%m%d%H%M%S', gmtime $end) }));
is($na, $end, 'END_DATE with 12 digits (YY < 50 -> 20YY): exactly that instant');
($nb, $na) = dates(get({ Type => 'END_DATE', Value => 491231235959 }));
is($na, timegm(59, 59, 23, 31, 11, 2049), 'END_DATE 491231235959 (API_Validity\'s sample) is 2049-12-31T23:59:59Z');
$end = time + 50 * 86400 + 17;
($nb, $na) = dates(get({ Type => 'ABSOLUTE', Value => $end }));
is($na, $end, 'ABSOLUTE: exactly that epoch second');

# ---- relative types: NotBefore = issuance - 3600 exactly, so NotAfter follows from it
for my $case ([DAYS => 45, sub { $_[0] + 45 * 86400 }], [MONTHS => 7, sub { add_months($_[0], 7) }],
              [YEARS => 3, sub { add_months($_[0], 36) }], [DAYS => 1, sub { $_[0] + 86400 }]) {
    my($type, $n, $f) = @$case;
    my $t0 = time;
    ($nb, $na) = dates(get({ Type => $type, Value => $n }));
    my $issued = defined $nb ? $nb + 3600 : undef;
    ok(defined $na && $issued >= $t0 - 1 && $issued <= time + 1 && $na == $f->($issued),
       "$type $n: NotAfter = issuance + $n " . lc($type) . ', to the second; NotBefore = issuance - 60 minutes')
        or diag("NotBefore $nb NotAfter $na want " . (defined $issued ? $f->($issued) : '?'));
}

# ---- ValidityNotBefore: exact, and the relative Validity does not move
my $t0 = time;
my $want_nb = $t0 + 7200;
($nb, $na) = dates(get({ Type => 'DAYS', Value => 10 }, not_before => { Type => 'ABSOLUTE', Value => $want_nb }));
is($nb, $want_nb, 'ValidityNotBefore ABSOLUTE: NotBefore exactly that');
ok(defined $na && $na >= $t0 + 10 * 86400 - 1 && $na <= time + 10 * 86400 + 1, '... and DAYS still counts from issuance');
my(undef, undef, $res) = issue($CA, $csr, signing => 'SHA384WITHECDSA', validity => { Type => 'DAYS', Value => 10 },
                               not_before => { Type => 'YEARS', Value => 1 });
is_aws_error($res, 400, 'InvalidArgsException', qr/ABSOLUTE/, 'ValidityNotBefore of Type YEARS -> InvalidArgsException');

# ---- UTCTime before 2050, GeneralizedTime from 2050
my @types = time_types(get({ Type => 'END_DATE', Value => 20491231235959 }));
is("@types", 'UTCTIME UTCTIME', 'NotAfter 2049-12-31T23:59:59Z is a UTCTime');
@types = time_types(get({ Type => 'END_DATE', Value => 20500101000000 }));
is("@types", 'UTCTIME GENERALIZEDTIME', 'NotAfter 2050-01-01T00:00:00Z is a GeneralizedTime');

# ---- errors
for my $bad ([{ Type => 'END_DATE', Value => 20301301000000 }, 'END_DATE month 13'],
             [{ Type => 'END_DATE', Value => 2030123123595 }, 'END_DATE of 13 digits'],
             [{ Type => 'ABSOLUTE', Value => time - 60 }, 'ABSOLUTE in the past']) {
    (undef, undef, $res) = issue($CA, $csr, signing => 'SHA384WITHECDSA', validity => $bad->[0]);
    is_aws_error($res, 400, 'ValidationException', undef, "$bad->[1] -> ValidationException");
}

# ---- the issuing CA's NotAfter caps what it issues (not a root's own certificate)
my $S = make_sub_active($R, key => 'EC_prime256v1', cn => uniq('Cap Sub'), validity => { Type => 'DAYS', Value => 30 });
my(undef, $sna) = $S ? cert_dates($S->{cert}) : ();
(undef, undef, $res) = $S ? issue($S->{arn}, $csr, validity => { Type => 'ABSOLUTE', Value => $sna + 1 }) : ();
is_aws_error($res, 400, 'ValidationException', qr/issuing certificate authority/,
             'one second beyond the subordinate\'s NotAfter -> ValidationException');
my $at = $S ? issue_get($S->{arn}, $csr, validity => { Type => 'ABSOLUTE', Value => $sna }) : undef;
push @LINT, $at if $at;
is(($at ? (cert_dates($at->{cert}))[1] : 0), $sna, 'exactly the subordinate\'s NotAfter is accepted');
my $own = $R ? issue_get($CA, $R->{csr}, signing => 'SHA384WITHECDSA', template => 'RootCACertificate/V1',
                      validity => { Type => 'END_DATE', Value => 20700101000000 }) : undef;
push @LINT, { cert => $own->{cert}, template => 'RootCACertificate/V1' } if $own;
ok($own, 'a root\'s own certificate may outlive its current one (no cap)');

# ---- SHORT_LIVED_CERTIFICATE: at most 7 days, but not for the root's own certificate
my $SL = make_root_active(key => 'EC_prime256v1', cn => uniq('Short Root'), extra => { UsageMode => 'SHORT_LIVED_CERTIFICATE' });
ok($SL, 'a SHORT_LIVED_CERTIFICATE root with a 10-year certificate of its own');
my $seven = $SL ? issue_get($SL->{arn}, $csr, validity => { Type => 'DAYS', Value => 7 }) : undef;
push @LINT, $seven if $seven;
ok($seven, 'short-lived: 7 days are issued');
(undef, undef, $res) = $SL ? issue($SL->{arn}, $csr, validity => { Type => 'DAYS', Value => 8 }) : ();
is_aws_error($res, 400, 'ValidationException', qr/7 days/, 'short-lived: 8 days -> ValidationException');

my $l = lint_batch(\@LINT);
my @dirty = grep { @{ $l->[$_]{errors} } } 0 .. $#LINT;
ok(@LINT >= 14 && !@dirty, sprintf('all %d certificates issued here pass the lint', scalar @LINT))
    or diag(join "\n", map { "cert $_: @{ $l->[$_]{errors} }" } @dirty);
