# Audit reports (PCA-API.md §5.13, §5.14, §8, §11.11): JSON and CSV list exactly the
# certificates the CA issued, each once, with revocations; Describe reports CREATING
# then SUCCESS (or FAILED); RequestInProgressException while one is CREATING; the
# 30-minute rule (on the default vhost); errors.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Revoke;

plan tests => 27, need_module('acmpca');
use_vhost();

my $t0 = time;
my $R = crl_root(cn => uniq('Audit Root'));
my $S = crl_sub($R, cn => uniq('Audit Sub'));
my @L = map { issue_leaf($R, cn => "audit leaf $_") } 1 .. 3;
ok($R && $S && 3 == grep({ $_ } @L), 'a root, a subordinate, three leaves');
my $rev_time = time;
revoke($R->{arn}, $L[1]{serial}, 'SUPERSEDED');
my $bucket = 'audit-' . $$;

sub create_report {
    my($arn, $format, %o) = @_;
    api(CreateCertificateAuthorityAuditReport => { CertificateAuthorityArn => $arn // '',
        S3BucketName => $o{bucket} // $bucket, AuditReportResponseFormat => $format });
}
sub describe_report {
    my($arn, $id) = @_;
    api(DescribeCertificateAuthorityAuditReport => { CertificateAuthorityArn => $arn // '', AuditReportId => $id // '' });
}
# A signed GET /<bucket>/<key> (SigV4, service acm-pca; aws s3 cp is tested in t/client).
sub fetch_report {
    my($b, $key) = @_;
    raw_request(GET => "/$b/$key", '', 'Content-Type' => undef);
}

# The expected records, from the certificates themselves.
my($root_serial) = $R->{cert_arn} =~ m{/certificate/([0-9a-f]+)$};
my($sub_serial) = $S->{cert_arn} =~ m{/certificate/([0-9a-f]+)$};
sub audit_time { my @t = gmtime shift; sprintf '%04d-%02d-%02dT%02d:%02d:%02d+0000', $t[5] + 1900, $t[4] + 1, @t[3, 2, 1, 0] }
sub rfc2253 { my $s = _subject($_[0]); $s }
sub _subject {
    my $r = openssl({ stdin => $_[0] }, 'x509', '-noout', '-subject', '-nameopt', 'RFC2253');
    (my $s = $r->{out}) =~ s/^subject=\s*//;
    chomp $s;
    $s;
}
my %expect;
for my $c ([$R->{cert}, $root_serial, ROOT_TEMPLATE], [$S->{cert}, $sub_serial, sub_template(0)],
           map { [$_->{cert}, $_->{serial}, 'arn:aws:acm-pca:::template/EndEntityCertificate/V1'] } @L) {
    my($pem, $serial, $tmpl) = @$c;
    my($nb, $na) = cert_dates($pem);
    $expect{ join ':', unpack '(A2)*', $serial } = {
        awsAccountId => ACCOUNT, certificateArn => "$R->{arn}/certificate/$serial",
        serial => join(':', unpack '(A2)*', $serial), subject => _subject($pem),
        notBefore => audit_time($nb), notAfter => audit_time($na), templateArn => $tmpl,
        ($serial eq $L[1]{serial} ? (revocationReason => 'SUPERSEDED') : ()),
    };
}

sub check_records {
    my($recs, $what) = @_;
    my @why;
    push @why, 'not 5 records but ' . scalar @$recs unless @$recs == 5;
    my %seen;
    for my $r (@$recs) {
        my $want = $expect{ $r->{serial} // '' };
        push @why, 'unexpected serial ' . ($r->{serial} // 'none') and next unless $want;
        push @why, "$r->{serial} twice" if $seen{ $r->{serial} }++;
        for my $k (sort keys %$want) {
            push @why, "$r->{serial} $k: " . ($r->{$k} // 'none') . " != $want->{$k}" unless ($r->{$k} // '') eq $want->{$k};
        }
        my @keys = sort grep { defined $r->{$_} && $r->{$_} ne '' } keys %$r;
        my @want_keys = sort(keys %$want, 'issuedAt', ($want->{revocationReason} ? 'revokedAt' : ()));
        push @why, "$r->{serial} members @keys" unless "@keys" eq "@want_keys";
        push @why, "$r->{serial} issuedAt $r->{issuedAt}" unless ($r->{issuedAt} // '') ge audit_time($t0 - 1)
            && ($r->{issuedAt} // '') le audit_time(time + 1);
        if ($want->{revocationReason}) {
            push @why, "revokedAt $r->{revokedAt}" unless ($r->{revokedAt} // '') ge audit_time($rev_time - 1)
                && ($r->{revokedAt} // '') le audit_time($rev_time + 2);
        }
    }
    ok(!@why, $what) or diag join "\n", @why;
}

# JSON.
my($st, $j) = create_report($R->{arn}, 'JSON');
my $id = ($j || {})->{AuditReportId} // '';
ok($st == 200 && $id =~ /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'JSON report: a lowercase UUID id');
is(($j || {})->{S3Key}, "audit-report/$R->{id}/$id.json", '... S3Key audit-report/<ca-id>/<id>.json');
my(undef, $d) = describe_report($R->{arn}, $id);
ok($d && $d->{AuditReportStatus} eq 'SUCCESS' && $d->{S3BucketName} eq $bucket && $d->{S3Key} eq ($j || {})->{S3Key}
    && $d->{CreatedAt} =~ /^\d+(\.\d+)?$/ && abs($d->{CreatedAt} - time) < 30, 'Describe: SUCCESS, bucket, key, CreatedAt (epoch)')
    or diag explain $d;
my $res = fetch_report($bucket, ($j || {})->{S3Key} // '');
ok($res->code == 200 && ($res->header('Content-Type') // '') eq 'application/json', 'signed GET of the report: application/json');
my $recs = json_decode($res->content);
ok(ref $recs eq 'ARRAY', '... a JSON array');
check_records(ref $recs eq 'ARRAY' ? $recs : [], '... exactly the five certificates issued, each once, with their fields (§8)');
my($revoked) = grep { ($_->{serial} // '') eq $expect{ join ':', unpack '(A2)*', $L[1]{serial} }{serial} } @{ ref $recs eq 'ARRAY' ? $recs : [] };
ok($revoked && $revoked->{revokedAt} && $revoked->{revocationReason} eq 'SUPERSEDED', '... the revoked one with revokedAt and revocationReason');
ok(!grep({ exists $_->{revokedAt} || exists $_->{revocationReason} } grep { $_ != ($revoked // 0) } @{ ref $recs eq 'ARRAY' ? $recs : [] }),
    '... and only that one');

# CSV.
($st, $j) = create_report($R->{arn}, 'CSV');
my $cid = ($j || {})->{AuditReportId} // '';
is(($j || {})->{S3Key}, "audit-report/$R->{id}/$cid.csv", 'CSV report: S3Key ends in .csv');
$res = fetch_report($bucket, ($j || {})->{S3Key} // '');
ok($res->code == 200 && ($res->header('Content-Type') // '') eq 'text/csv', 'signed GET: text/csv');
my @lines = split /\r\n/, $res->content;
is($lines[0], 'awsAccountId,requestedByServicePrincipal,certificateArn,serial,subject,notBefore,notAfter,issuedAt,revokedAt,revocationReason,templateArn',
    '... the header of §8');
sub csv_fields {
    my $line = shift;
    my @f;
    while (length $line) {
        if ($line =~ s/^"((?:[^"]|"")*)"(,|$)//) { (my $v = $1) =~ s/""/"/g; push @f, $v }
        elsif ($line =~ s/^([^,]*)(,|$)//) { push @f, $1 }
        else { last }
        push @f, '' if $2 eq ',' && !length $line;
    }
    \@f;
}
my @cols = split /,/, $lines[0];
my @rows = map { my $f = csv_fields($_); my %h; @h{@cols} = @$f; \%h } @lines[1 .. $#lines];
check_records(\@rows, '... the same five records (RFC 4180)');
ok(!grep({ !/^\d+,,arn:[^,]+,[0-9a-f:]+,"[^"]*",/ } @lines[1 .. $#lines]), '... subject quoted, requestedByServicePrincipal empty');

# Errors and the rules of §5.13 / §11.11.
my(undef, undef, $r) = describe_report($R->{arn}, '00000000-0000-0000-0000-000000000000');
is_aws_error($r, 400, 'ResourceNotFoundException', undef, 'Describe an unknown report -> ResourceNotFoundException');
(undef, undef, $r) = describe_report($S->{arn}, $id);
is_aws_error($r, 400, 'ResourceNotFoundException', undef, "... another CA's report -> ResourceNotFoundException");
(undef, undef, $r) = describe_report($R->{arn}, 'not-a-report-id');
is_aws_error($r, 400, 'ValidationException', undef, '... a malformed id -> ValidationException');
(undef, undef, $r) = create_report($R->{arn}, 'XML');
is_aws_error($r, 400, 'ValidationException', qr/auditReportResponseFormat|AuditReportResponseFormat/i, 'format XML -> ValidationException');
(undef, undef, $r) = create_report($R->{arn}, 'JSON', bucket => 'Not_A_Bucket');
is_aws_error($r, 400, 'InvalidArgsException', undef, 'a bucket name S3 refuses -> InvalidArgsException');
my $P = create_ca(cn => uniq('Audit Pending'));
(undef, undef, $r) = create_report($P, 'JSON');
ok($r->code == 200, 'a PENDING_CERTIFICATE CA may have a report (§4.1*)');
(my $unknown = $R->{arn}) =~ s/[0-9a-f]{12}$/000000000000/;
(undef, undef, $r) = create_report($unknown, 'JSON');
is_aws_error($r, 400, 'ResourceNotFoundException', undef, 'an unknown CA -> ResourceNotFoundException');

# One report CREATING (made by hand in the store, as if a process were writing it):
# RequestInProgressException; gone stale after 15 minutes: FAILED, and no longer in
# the way.
my $busy = '11111111-2222-3333-4444-555555555555';
store_report_put($R->{id}, $busy, 'CREATING', $bucket, "audit-report/$R->{id}/$busy.json", 'JSON',
                 (time + 2) * 1_000_000);
(undef, $d) = describe_report($R->{arn}, $busy);
is(($d || {})->{AuditReportStatus}, 'CREATING', 'a report being written: CREATING');
(undef, undef, $r) = create_report($R->{arn}, 'JSON');
is_aws_error($r, 400, 'RequestInProgressException', undef, '... meanwhile CreateCertificateAuthorityAuditReport -> RequestInProgressException');
store_report_created($R->{id}, $busy, (time - 16 * 60) * 1_000_000);
(undef, $d) = describe_report($R->{arn}, $busy);
is(($d || {})->{AuditReportStatus}, 'FAILED', '... one that never finished: FAILED after 15 minutes');
(undef, undef, $r) = create_report($R->{arn}, 'JSON');
ok($r->code == 200, '... and a new report can be made');

# The 30-minute rule, on the default vhost (ACMPCAAuditReportInterval unset).
with_vhost('acmpca', sub {
    my $D = make_root_active(cn => uniq('Audit Default'));
    my(undef, undef, $r1) = create_report($D ? $D->{arn} : '', 'JSON');
    my(undef, undef, $r2) = create_report($D ? $D->{arn} : '', 'CSV');
    ok($r1->code == 200, 'default vhost: a first report');
    is_aws_error($r2, 400, 'LimitExceededException', qr/30 minutes/, '... a second within 30 minutes -> LimitExceededException (§11.11)');
});
