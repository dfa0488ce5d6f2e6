# Paging through 25 CAs with the real clients: the boto3 paginator of
# list_certificate_authorities with PageSize 7, MaxItems/StartingToken resumption,
# and awscli's automatic pagination with --page-size 7 and --max-items.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;

plan tests => 12, need_module('acmpca');

my $tag = uniq('page');
my $r = boto3_script(<<PY, timeout => 600);
TAG = "$tag"
made = []
for i in range(25):
    made.append(pca.create_certificate_authority(
        CertificateAuthorityConfiguration={"KeyAlgorithm": "EC_prime256v1", "SigningAlgorithm": "SHA256WITHECDSA",
                                           "Subject": {"CommonName": "page %d %s" % (i, TAG)}},
        CertificateAuthorityType="ROOT", Tags=[{"Key": "page", "Value": TAG}])["CertificateAuthorityArn"])

pages = []
for page in pca.get_paginator("list_certificate_authorities").paginate(PaginationConfig={"PageSize": 7}):
    pages.append([c["Arn"] for c in page["CertificateAuthorities"]])

first = pca.get_paginator("list_certificate_authorities").paginate(
    PaginationConfig={"PageSize": 7, "MaxItems": 10}).build_full_result()
rest = pca.get_paginator("list_certificate_authorities").paginate(
    PaginationConfig={"PageSize": 7, "StartingToken": first.get("NextToken")}).build_full_result()
out({"made": made, "pages": pages,
     "first": [c["Arn"] for c in first["CertificateAuthorities"]], "first_token": first.get("NextToken"),
     "rest": [c["Arn"] for c in rest["CertificateAuthorities"]]})
PY
ok($r->{rc} == 0 && $r->{json}, 'boto3 creates 25 CAs and pages through them') or diag("rc=$r->{rc}\n$r->{err}");
my $j = $r->{json} || {};
my @made = @{ $j->{made} || [] };
my @pages = @{ $j->{pages} || [] };
my @all = map { @$_ } @pages;
my %n;
$n{$_}++ for @all;

is(scalar @made, 25, '25 CAs were created');
is(scalar(grep { ($n{$_} // 0) == 1 } @made), 25, 'the paginator (PageSize 7) sees each of the 25 exactly once');
ok(@all >= 25 && !grep({ $_ > 1 } values %n), 'no CA appears twice in the whole listing');
my @sizes = map { scalar @$_ } @pages;
ok(@sizes >= 4 && !grep({ $_ != 7 } @sizes[0 .. $#sizes - 1]) && $sizes[-1] >= 1 && $sizes[-1] <= 7,
    'every page but the last holds 7 CAs') or diag("page sizes: @sizes");
my %pos;
@pos{@all} = 0 .. $#all;
ok(@made == 25 && !grep({ !defined $pos{$_} } @made) && join(' ', sort { $pos{$a} <=> $pos{$b} } @made) eq join(' ', @made),
    'the 25 appear in creation order');

ok(@{ $j->{first} || [] } == 10 && $j->{first_token}, 'MaxItems 10 stops after 10 with a resumption token');
ok(@all && join(' ', @{ $j->{first} || [] }, @{ $j->{rest} || [] }) eq join(' ', @all), 'StartingToken resumes exactly where it stopped');

# awscli paginates by itself.
$r = aws_cli({ timeout => 300 }, qw(acm-pca list-certificate-authorities --page-size 7));
my @cli = map { $_->{Arn} } @{ ($r->{json} || {})->{CertificateAuthorities} || [] };
my %c;
$c{$_}++ for @cli;
ok($r->{rc} == 0 && scalar(grep { ($c{$_} // 0) == 1 } @made) == 25, 'aws list-certificate-authorities --page-size 7 lists each of the 25 once')
    or diag("rc=$r->{rc} $r->{err}");
ok(@cli && !grep({ $_ > 1 } values %c) && @cli == @all, '... and the same number of CAs as boto3, without duplicates');

$r = aws_cli(qw(acm-pca list-certificate-authorities --page-size 7 --max-items 9));
my $tok = ($r->{json} || {})->{NextToken};
my @first = map { $_->{Arn} } @{ ($r->{json} || {})->{CertificateAuthorities} || [] };
ok(@first == 9 && $tok, 'aws --max-items 9 stops with a NextToken');
$r = aws_cli(qw(acm-pca list-certificate-authorities --page-size 7 --starting-token), $tok // 'none');
my @rest = map { $_->{Arn} } @{ ($r->{json} || {})->{CertificateAuthorities} || [] };
ok(@cli && join(' ', @first, @rest) eq join(' ', @cli), 'aws --starting-token resumes where it stopped');
