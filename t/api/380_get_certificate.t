# GetCertificate (PCA-API.md §5.6, §11.8): the chain is the issuing CA's certificate
# first, then up to and including the root, and absent for a root's own (self-signed)
# certificate, also a renewed one; certificates are returned issued, expired and
# revoked, in the states of §4.1; a certificate ARN of another CA, the two ARNs
# swapped or malformed are InvalidArnException, an unknown serial is
# ResourceNotFoundException. Each chain verifies with openssl verify -x509_strict and
# every certificate fetched passes the lint.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Issue;

plan tests => 38, need_module('acmpca');

my $R  = make_root_active(key => 'RSA_2048', cn => uniq('Chain Root'));
my $S1 = make_sub_active($R, key => 'EC_secp384r1', pathlen => 1, cn => uniq('Chain Sub1'),
                         validity => { Type => 'DAYS', Value => 300 });
my $S2 = make_sub_active($S1, key => 'EC_prime256v1', pathlen => 0, cn => uniq('Chain Sub2'),
                         validity => { Type => 'DAYS', Value => 200 });
ok($R && $S1 && $S2, 'a root, a PathLen1 subordinate and a PathLen0 one below it');

my $csr = make_csr(subj => '/CN=chain leaf', ext => ['subjectAltName=DNS:leaf.example'])->{csr};
sub subjects { [map { cert_subject($_) } split_pem($_[0])] }
my @lint;

# ---- chains, one level at a time
my %leaf;
for my $ca (['root', $R], ['sub1', $S1], ['sub2', $S2]) {
    my($name, $x) = @$ca;
    my $c = $x ? issue_get($x->{arn}, $csr, signing => $x->{signing}) : undef;
    $leaf{$name} = $c;
    push @lint, $c if $c;
}
is_deeply(subjects($leaf{root} && $leaf{root}{chain}), [cert_subject($R->{cert})],
          'issued by the root: CertificateChain is the root certificate');
is_deeply(subjects($leaf{sub1} && $leaf{sub1}{chain}), [map { cert_subject($_->{cert}) } $S1, $R],
          'issued by sub1: sub1, then the root');
is_deeply(subjects($leaf{sub2} && $leaf{sub2}{chain}), [map { cert_subject($_->{cert}) } $S2, $S1, $R],
          'issued by sub2: sub2, sub1, then the root');
verify_strict_ok($leaf{$_}, "openssl verify -x509_strict: leaf of $_ with its chain") for qw(root sub1 sub2);
{
    # the chain really is issuer-first: each certificate is signed by the next
    my @c = (($leaf{sub2} ? $leaf{sub2}{cert} : ''), split_pem($leaf{sub2} && $leaf{sub2}{chain}));
    ok(@c == 4 && !grep({ cert_issuer($c[$_]) ne cert_subject($c[$_ + 1]) } 0 .. 2), '... each certificate\'s issuer is the next one');
}

# ---- a root's own certificate: no chain, also after renewal
my $own = $R ? get_cert($R->{arn}, $R->{cert_arn}) : undef;
ok($own && !exists $own->{CertificateChain}, 'the root\'s own certificate: no CertificateChain');
my $renew = $R ? issue_get($R->{arn}, $R->{csr}, template => 'RootCACertificate/V1', signing => 'SHA256WITHRSA',
                           validity => { Type => 'YEARS', Value => 5 }) : undef;
ok($renew && !defined $renew->{chain}, 'a renewed self-signed root certificate (issued while ACTIVE): no CertificateChain');
push @lint, { cert => $renew->{cert}, template => 'RootCACertificate/V1', signing => 'SHA256WITHRSA' } if $renew;
my $s1_cert = $S1 ? get_cert($R->{arn}, $S1->{cert_arn}) : undef;
is_deeply(subjects($s1_cert && $s1_cert->{CertificateChain}), [cert_subject($R->{cert})],
          'a subordinate CA certificate fetched from its issuer: the chain is the root');

# ---- a PENDING root: its own certificate before import; a pending subordinate has none
my $P = create_ca(type => 'ROOT', key => 'EC_prime256v1', cn => uniq('Pending Root'));
my $pcsr = $P ? get_ca_csr($P) : '';
my $pc = $P ? issue_get($P, $pcsr, template => 'RootCACertificate/V1', validity => { Type => 'YEARS', Value => 2 }) : undef;
ok($pc && !defined $pc->{chain}, 'PENDING_CERTIFICATE root: GetCertificate of its own certificate, no chain');
push @lint, { cert => $pc->{cert}, template => 'RootCACertificate/V1' } if $pc;
my $PS = create_ca(type => 'SUBORDINATE', key => 'EC_prime256v1', cn => uniq('Pending Sub'));
my(undef, undef, $res) = api(GetCertificate => { CertificateAuthorityArn => $PS // '',
                                                 CertificateArn => ($PS // '') . '/certificate/' . ('ab' x 16) });
is_aws_error($res, 400, 'InvalidStateException', qr/not in the correct state to have issued certificates/,
             'PENDING_CERTIFICATE subordinate -> InvalidStateException');

# ---- expired and revoked certificates are returned
my $t = time;
my $short = $R ? issue_get($R->{arn}, $csr, signing => 'SHA256WITHRSA', validity => { Type => 'ABSOLUTE', Value => $t + 2 }) : undef;
ok($short, 'a certificate valid for two more seconds');
sleep 3;
my $exp = $short ? get_cert($R->{arn}, $short->{arn}) : undef;
ok($exp && $exp->{Certificate} eq $short->{cert}, '... still returned once expired');
push @lint, $short if $short;
my $rv = $leaf{root} ? issue_get($R->{arn}, $csr, signing => 'SHA256WITHRSA') : undef;
my($st) = $rv ? api(RevokeCertificate => { CertificateAuthorityArn => $R->{arn}, CertificateSerial => serial_of($rv->{arn}),
                                         RevocationReason => 'KEY_COMPROMISE' }) : (0);
SKIP: {
    skip 'RevokeCertificate is not available', 1 unless $st == 200;
    my $g = get_cert($R->{arn}, $rv->{arn});
    ok($g && $g->{Certificate} eq $rv->{cert} && $g->{CertificateChain}, 'a revoked certificate is returned, with its chain');
}
push @lint, $rv if $rv;

# ---- states: DISABLED answers (§4.1)
my $D = make_root_active(key => 'EC_prime256v1', cn => uniq('Disabled Root'));
my $dl = $D ? issue_get($D->{arn}, $csr) : undef;
push @lint, $dl if $dl;
api(UpdateCertificateAuthority => { CertificateAuthorityArn => $D ? $D->{arn} : '', Status => 'DISABLED' });
is(ca_status($D ? $D->{arn} : ''), 'DISABLED', 'a root disabled after issuing');
my $dg = $dl ? get_cert($D->{arn}, $dl->{arn}) : undef;
ok($dg && $dg->{Certificate} eq $dl->{cert}, 'GetCertificate on a DISABLED CA answers');

# ---- errors
sub get_err { my(undef, undef, $r) = api(GetCertificate => { CertificateAuthorityArn => $_[0] // '', CertificateArn => $_[1] // '' }); $r }
my $rarn = $R ? $R->{arn} : '';
my $a1 = $leaf{sub1} ? $leaf{sub1}{arn} : '';
is_aws_error(get_err($rarn, $a1), 400, 'InvalidArnException', qr/^Not a valid arn\.$/, 'another CA\'s certificate ARN -> InvalidArnException');
is_aws_error(get_err($a1, $S1 ? $S1->{arn} : ''), 400, 'InvalidArnException', undef, 'the two ARNs swapped -> InvalidArnException');
is_aws_error(get_err($rarn, $rarn), 400, 'InvalidArnException', undef, 'the CA ARN as certificate ARN -> InvalidArnException');
is_aws_error(get_err($rarn, "$rarn/certificate/not-hex"), 400, 'InvalidArnException', undef, 'a serial that is not hex -> InvalidArnException');
is_aws_error(get_err($rarn, "$rarn/cert/0a1b"), 400, 'InvalidArnException', undef, 'not /certificate/ -> InvalidArnException');
is_aws_error(get_err($rarn, "$rarn/certificate/" . ('0f' x 16)), 400, 'ResourceNotFoundException', qr/certificate/,
             'an unknown serial -> ResourceNotFoundException');
my $ghost = $rarn =~ s/[0-9a-f]{8}-/00000000-/r;
is_aws_error(get_err($ghost, "$ghost/certificate/0a1b"), 400, 'ResourceNotFoundException', undef,
             'an unknown CA with a well-formed certificate ARN -> ResourceNotFoundException');
is_aws_error(get_err($rarn, ($rarn =~ s/123456789012/210987654321/r) . '/certificate/0a1b'), 400, 'InvalidArnException', undef,
             'a certificate ARN of another account -> InvalidArnException');

# ---- the serial in the ARN is what the certificate carries
my $sh = $leaf{root} ? cert_serial_hex($leaf{root}{cert}) : undef;
is(serial_of($leaf{root} && $leaf{root}{arn}), $sh, 'the ARN carries the serial in lowercase hex');
ok($sh && length($sh) >= 17 && length($sh) <= 40 && hex(substr($sh, 0, 1)) < 8,
   'the serial is positive, at least 64 bits and at most 20 octets');

# ---- the audit record of each issuance (issue 3): who, when, template, serial, subject,
# validity, in the store row that audit reports are built from
my $creds = credentials();
my $row = $leaf{sub1} ? store_rows(sprintf "SELECT requested_by, template_arn, subject, not_before, not_after, issued_at "
                                   . "FROM certs WHERE ca_id = '%s' AND serial = '%s'", ca_id_of($S1->{arn}),
                                   serial_of($leaf{sub1}{arn})) : undef;
SKIP: {
    skip 'the store is not sqlite (or sqlite3 is missing)', 1 unless $row;
    my $r0 = $row->[0] || {};
    my($cnb, $cna) = cert_dates($leaf{sub1}{cert});
    ok(($r0->{requested_by} // '') eq $creds->{Principal} && $r0->{template_arn} eq tarn('EndEntityCertificate')
       && $r0->{subject} eq 'CN=chain leaf' && $r0->{not_before} == $cnb * 1e6 && $r0->{not_after} == $cna * 1e6
       && abs($r0->{issued_at} / 1e6 - ($cnb + 3600)) < 5,
       'the store records who asked, when, the template, the subject and the validity') or diag(explain($r0));
}

# ---- an EXPIRED CA (its certificate's NotAfter has passed) still answers GetCertificate
my $E = make_root_active(key => 'EC_prime256v1', cn => uniq('Expiring Root'), validity => { Type => 'ABSOLUTE', Value => time + 4 });
my $el = $E ? issue_get($E->{arn}, $csr, validity => { Type => 'ABSOLUTE', Value => time + 3 }) : undef;
push @lint, $el if $el;
sleep 5;
is($E ? ca_status($E->{arn}) : '', 'EXPIRED', 'a root whose certificate has expired is EXPIRED');
my $eg = $el ? get_cert($E->{arn}, $el->{arn}) : undef;
ok($eg && $eg->{Certificate} eq $el->{cert}, 'GetCertificate on an EXPIRED CA answers');
(undef, undef, $res) = $E ? issue($E->{arn}, $csr) : ();
is_aws_error($res, 400, 'InvalidStateException', undef, 'IssueCertificate on an EXPIRED CA -> InvalidStateException');

# ---- exact though kept per process (issue 7: each child keeps a certificate's quoted
# PEM per serial and the chain per CA document): after a re-import the very next answers
# carry the CA's new certificate, in whichever child they land
sub same_pem { my($x, $y) = map { ($_ // '') =~ s/\s+//gr } @_; length $x && $x eq $y }
my @warm = ($R && $leaf{root}) ? map({ get_cert($R->{arn}, $leaf{root}{arn}) } 1 .. 12) : ();
ok(@warm == 12 && !grep({ !$_ || !same_pem($_->{CertificateChain}, $R->{cert}) } @warm),
   'a leaf of the root, fetched twelve times: its chain is the root certificate each time');
my($ist) = $renew ? api(ImportCertificateAuthorityCertificate => { CertificateAuthorityArn => $R->{arn},
                                                                   Certificate => b64($renew->{cert}) }) : (0);
is($ist, 200, 'the ACTIVE root re-imports its renewed certificate');
my @after = $ist == 200 ? map({ get_cert($R->{arn}, $leaf{root}{arn}) } 1 .. 12) : ();
ok(@after == 12 && !same_pem($renew->{cert}, $R->{cert})
   && !grep({ !$_ || !same_pem($_->{CertificateChain}, $renew->{cert})
              || $_->{Certificate} ne $leaf{root}{cert} } @after),
   '... and the next twelve answers carry the renewed certificate as the chain, the leaf unchanged');

# ---- the lint, with each certificate's issuer from its chain
my $l = lint_batch(\@lint);
my @dirty = grep { @{ $l->[$_]{errors} } } 0 .. $#lint;
ok(!@dirty, sprintf('all %d certificates fetched here pass the lint', scalar @lint))
    or diag(join "\n", map { "cert $_: @{ $l->[$_]{errors} }" } @dirty);
ok(@lint >= 8, 'every certificate fetched here was linted');
ok(!grep({ !$_->{issuer} && !($_->{template} // '') =~ /Root/ } @lint), 'every non-root certificate was linted with its issuer');
